// `ipcmk`: util-linux 2.38 compatible, over any IpcApi.
//
// -M <size> creates a segment (size as util-linux parses it: 1K = 1024,
// 1KB = 1000, 1.5K = 1536, 0x10 = 16), -Q a queue, -S <n> a set of n
// semaphores, each with a random key and permissions -p <octal> (default
// 0644) | IPC_CREAT, printing "Shared memory id: N", "Message queue id: N",
// "Semaphore id: N" in that order. As in util-linux, the key is not
// exclusive: a random key that already exists names the existing object.
#ifndef SYSV_TOOLS_IPCMK_COMMAND_H_
#define SYSV_TOOLS_IPCMK_COMMAND_H_

#include <cstdio>

#include "tools/ipc_api.h"

namespace sysv::tools {

// Runs ipcmk with `argv` (argv[0] is the program name used in messages).
// Returns the exit status util-linux's ipcmk would have.
int RunIpcmk(const IpcApi& api, int argc, char** argv, std::FILE* out,
             std::FILE* err);

}  // namespace sysv::tools

#endif  // SYSV_TOOLS_IPCMK_COMMAND_H_
