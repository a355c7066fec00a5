// Where the benchmark measures libsysv: a fresh namespace directory served
// by a sysvipcd of its own, gone when the benchmark is.
//
// The daemon runs in the foreground as our child (not through
// compat::StartDaemon, which detaches it and leaves only a pid in a lock
// file), so that we can stop it and know it stopped. Cleanup happens twice
// over: the destructor stops the daemon and removes the directory on every
// ordinary exit; a janitor process, forked at the start, does the same if
// this process dies any other way (a signal, the watchdog, a crash), since a
// dying process runs no destructors. The janitor learns of our death from a
// process handle and signals the daemon through one (platform::
// SignalProcess: a pidfd on Linux, so a recycled pid is never signalled by
// mistake; on DragonFly kill(2) unless the handle has seen the exit).
#ifndef SYSV_TOOLS_BENCH_BENCH_NAMESPACE_H_
#define SYSV_TOOLS_BENCH_BENCH_NAMESPACE_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sysv::bench {

class BenchNamespace {
 public:
  // Makes /dev/shm/sysvipc-bench-XXXXXX (else under /tmp), starts sysvipcd
  // there with `daemon_flags` added, waits until it answers, starts the
  // janitor, and points this process's libsysv at it (SYSVIPC_DIR, with
  // SYSVIPC_AUTOSTART=0 so that no other daemon is ever started). Call it
  // before any sysv_ function and before forking anything else.
  static absl::StatusOr<std::unique_ptr<BenchNamespace>> Create(const std::vector<std::string>& daemon_flags);

  BenchNamespace(const BenchNamespace&) = delete;
  BenchNamespace& operator=(const BenchNamespace&) = delete;
  // Stops the daemon (SIGTERM, SIGKILL after 5 s), reaps it, and removes the
  // directory.
  ~BenchNamespace();

  const std::string& dir() const { return dir_; }
  const std::string& daemon_binary() const { return daemon_binary_; }
  // False when no janitor could be started (fork failed): then only an
  // ordinary exit cleans up.
  bool has_janitor() const { return janitor_ > 0; }

 private:
  BenchNamespace() = default;
  absl::Status StartDaemon(const std::vector<std::string>& daemon_flags);
  void StartJanitor();
  void StopDaemon();

  std::string dir_;
  std::string daemon_binary_;
  pid_t daemon_ = -1;
  pid_t janitor_ = -1;
};

// The sysvipcd to run: $SYSVIPCD; else this program's Bazel runfiles
// (bazel run, bazel test); else compat::FindDaemonBinary()'s search beside
// this program and on PATH.
absl::StatusOr<std::string> FindBenchDaemon();

}  // namespace sysv::bench

#endif  // SYSV_TOOLS_BENCH_BENCH_NAMESPACE_H_
