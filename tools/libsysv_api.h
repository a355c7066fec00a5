// The IpcApi of libsysv: the sysv_ prefixed functions.
#ifndef SYSV_TOOLS_LIBSYSV_API_H_
#define SYSV_TOOLS_LIBSYSV_API_H_

#include "tools/ipc_api.h"

namespace sysv::tools {

const IpcApi& LibsysvIpcApi();

}  // namespace sysv::tools

#endif  // SYSV_TOOLS_LIBSYSV_API_H_
