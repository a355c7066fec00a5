// The shape every C library ABI (backends/<os>/ipc_abi.h) gives its
// translation of *ctl command numbers: one table per C library, of the
// caller's numbers beside the protocol's (the core's, Linux's), looked up
// in one way. C libraries disagree on the numbers (GETNCNT is 3 in
// DragonFly's <sys/sem.h>, IPC_INFO is 3 in glibc's), so a caller's number
// means nothing until its own table has translated it.
#ifndef SYSV_BACKENDS_COMMON_IPC_COMMAND_TABLE_H_
#define SYSV_BACKENDS_COMMON_IPC_COMMAND_TABLE_H_

#include <span>

namespace sysv::backend {

struct IpcCommand {
  int caller;  // as the C library's headers number it
  int core;    // as core/ and the wire protocol number it
};

// What TranslateCommand() returns for a number the table does not have:
// a command that system's kernel does not know, which it refuses with
// EINVAL (never a valid core command: those are >= 0).
inline constexpr int kNoSuchCommand = -1;

// The core's number for the caller's `cmd`, or kNoSuchCommand.
constexpr int TranslateCommand(std::span<const IpcCommand> table, int cmd) {
  for (const IpcCommand& entry : table) {
    if (entry.caller == cmd) return entry.core;
  }
  return kNoSuchCommand;
}

// The caller's number for the core's `core_cmd`, or kNoSuchCommand: what a
// tool built for that C library passes to ask for it.
constexpr int CallerCommand(std::span<const IpcCommand> table, int core_cmd) {
  for (const IpcCommand& entry : table) {
    if (entry.core == core_cmd) return entry.caller;
  }
  return kNoSuchCommand;
}

}  // namespace sysv::backend

#endif  // SYSV_BACKENDS_COMMON_IPC_COMMAND_TABLE_H_
