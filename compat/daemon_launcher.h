// Finding and starting sysvipcd for a namespace that has none.
#ifndef SYSV_COMPAT_DAEMON_LAUNCHER_H_
#define SYSV_COMPAT_DAEMON_LAUNCHER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

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
absl::Status StartDaemon(const std::string& dir, int timeout_ms = 10000);

// True when something accepts connections on <dir>/sysvipcd.sock.
bool DaemonAnswers(const std::string& dir);

// Whether SYSVIPC_AUTOSTART allows starting a daemon (unset, or not "0").
bool AutostartEnabled();

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_DAEMON_LAUNCHER_H_
