// The files of a namespace directory. Every component that finds the daemon
// or its state names them through here.
//
//   <dir>/sysvipcd.sock        the well-known endpoint (SOCK_SEQPACKET)
//   <dir>/sysvipcd.lock        held (flock) by the running daemon; holds its pid
//   <dir>/sysvipcd.log         the log of a daemon started automatically
//   <dir>/state/               mode 0700, the daemon's alone
//   <dir>/state/shm.table      the shm object table
//   <dir>/state/shm/<i>.<seq>  the contents of segment (index i, seq)
//   <dir>/state/sem.table      the semaphore object table
//   <dir>/state/sem/<i>.<seq>  the region of semaphore set (index i, seq)
//   <dir>/state/ledgers/<pid>.<start time>  attach ledgers of client processes
#ifndef SYSV_BACKENDS_COMMON_NAMESPACE_LAYOUT_H_
#define SYSV_BACKENDS_COMMON_NAMESPACE_LAYOUT_H_

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace sysv::backend {

inline constexpr char kSocketName[] = "sysvipcd.sock";
inline constexpr char kLockName[] = "sysvipcd.lock";
inline constexpr char kLogName[] = "sysvipcd.log";
// One line: whether segments are security-driver objects or region files.
inline constexpr char kDriverStatusName[] = "sysvipcd.driver";
// The fd keeper's socket (backends/linux/fd_keeper.h), where segments are
// sealed regions.
inline constexpr char kKeeperName[] = "sysvipcd.keeper";
inline constexpr char kStateDirName[] = "state";
inline constexpr char kShmTableName[] = "shm.table";
inline constexpr char kShmDirName[] = "shm";
inline constexpr char kSemTableName[] = "sem.table";
inline constexpr char kSemDirName[] = "sem";
inline constexpr char kMsgTableName[] = "msg.table";
inline constexpr char kMsgDirName[] = "msg";
inline constexpr char kLedgerDirName[] = "ledgers";

// The environment variables that configure a client; read them through
// backends/common/environment.h, never getenv().
inline constexpr char kDirEnv[] = "SYSVIPC_DIR";
inline constexpr char kAutostartEnv[] = "SYSVIPC_AUTOSTART";
inline constexpr char kDaemonPathEnv[] = "SYSVIPCD";
inline constexpr char kLibraryEnv[] = "SYSVIPC_LIB";
// How long libsysv polls for the daemon's reply before it sleeps in recvmsg
// (compat/runtime.cc, kReplyPollWindow): a duration ("30us"), 0 for never.
inline constexpr char kReplyPollEnv[] = "SYSVIPC_REPLY_POLL";
// Not ours, but where the per-user default namespace goes when it is set.
inline constexpr char kRuntimeDirEnv[] = "XDG_RUNTIME_DIR";

inline std::string SocketPath(absl::string_view dir) { return absl::StrCat(dir, "/", kSocketName); }
inline std::string LockPath(absl::string_view dir) { return absl::StrCat(dir, "/", kLockName); }
inline std::string LogPath(absl::string_view dir) { return absl::StrCat(dir, "/", kLogName); }
inline std::string StatePath(absl::string_view dir) { return absl::StrCat(dir, "/", kStateDirName); }

inline std::string SegmentFileName(int32_t index, uint32_t seq) {
  return absl::StrCat(index, ".", seq);
}
inline std::string LedgerFileName(int32_t pid, uint64_t start_time) {
  return absl::StrCat(pid, ".", start_time);
}

}  // namespace sysv::backend

#endif  // SYSV_BACKENDS_COMMON_NAMESPACE_LAYOUT_H_
