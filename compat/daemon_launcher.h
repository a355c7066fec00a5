// Finding and starting sysvipcd for a namespace that has none.
#ifndef SYSV_COMPAT_DAEMON_LAUNCHER_H_
#define SYSV_COMPAT_DAEMON_LAUNCHER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backends/common/namespace_dir.h"

namespace sysv::compat {

// The sysvipcd to start: $SYSVIPCD; else next to this library or program as
// laid out by Bazel (bazel-bin/daemon/sysvipcd beside bazel-bin/compat/ and
// bazel-bin/tools/) or by an install (PREFIX/sbin, PREFIX/libexec); else
// `sysvipcd` on PATH. NOT_FOUND names every place tried.
absl::StatusOr<std::string> FindDaemonBinary();

// Starts a daemon for `dir` in the background, its log in
// <dir>/sysvipcd.log, and waits (up to `timeout_ms`) until its socket
// accepts connections. A daemon that another process started meanwhile
// counts as success. The child does not inherit LD_PRELOAD.
//
// The directory is made (0700 if per-user) and verified first, and the log
// is opened in it without following a symlink and must be this user's
// regular file: nothing is started for a namespace the caller could not
// use. Never starts anything in a secure-execution process (setuid, setgid,
// file capabilities): the daemon to run and the directory come from the
// environment of a less privileged user. Results: OK; EPERM (refused, the
// message says why); ECONNREFUSED (the daemon did not start; its last log
// line); ENOENT (no sysvipcd found); the errno of mkdir/open/posix_spawn.
absl::Status StartDaemon(const backend::NamespaceDir& dir, int timeout_ms = 10000);

// True when the namespace's own daemon answers on <dir>/sysvipcd.sock
// (ConnectToDaemon() succeeds).
bool DaemonAnswers(const backend::NamespaceDir& dir);

// Whether a daemon may be started: not in a secure-execution process, and
// SYSVIPC_AUTOSTART is unset or not "0".
bool AutostartEnabled();

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_DAEMON_LAUNCHER_H_
