// `ipcrm`: util-linux 2.38 compatible, over any IpcApi.
//
// Supports -m/-q/-s <id>, -M/-Q/-S <key> (decimal, 0x hex or 0 octal),
// -a/--all[=shm|msg|sem], -v, --help, --version, and the legacy form
// `ipcrm shm|msg|sem <id>...`, with util-linux's messages ("invalid id (N)",
// "permission denied for id (N)", "already removed id (N)", "invalid key
// (K)", "illegal key (K)", ...) and exit status (1 if anything failed).
// Options act in the order given, so `ipcrm -m 1 -x` removes 1 before it
// reports -x. -a enumerates with SHM_INFO/SHM_STAT and friends, as util-linux
// does.
#ifndef SYSV_TOOLS_IPCRM_COMMAND_H_
#define SYSV_TOOLS_IPCRM_COMMAND_H_

#include <cstdio>

#include "tools/ipc_api.h"

namespace sysv::tools {

// Runs ipcrm with `argv` (argv[0] is the program name used in messages).
// Returns the exit status util-linux's ipcrm would have.
int RunIpcrm(const IpcApi& api, int argc, char** argv, std::FILE* out,
             std::FILE* err);

}  // namespace sysv::tools

#endif  // SYSV_TOOLS_IPCRM_COMMAND_H_
