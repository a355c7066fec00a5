// Finds the fd keeper (backends/linux/fd_keeper.h) of a test's namespace,
// so that attack tests can kill it and watch the daemon replace it.
#ifndef SYSV_TESTS_SECURITY_KEEPER_PROBE_H_
#define SYSV_TESTS_SECURITY_KEEPER_PROBE_H_

#include <sys/types.h>

#include <cstddef>
#include <string>

namespace sysv::testing {

// The pid of the fd keeper listening at `socket_path` (the only process
// holding that socket: the daemon closes its copy), or -1.
pid_t KeeperPid(const std::string& socket_path);

// The sealed regions (memfds the daemon names "sysvipc-...") process `pid`
// holds open.
size_t RegionsHeldBy(pid_t pid);

// Kills the keeper listening at `socket_path` (SIGKILL) and waits up to 2 s
// for another to listen there and to hold at least `regions` sealed regions
// (the daemon hands it every live one). Returns the new keeper's pid, or -1
// (none was there to kill, or none came back with the regions).
pid_t KillKeeperAndAwaitReplacement(const std::string& socket_path, size_t regions);

}  // namespace sysv::testing

#endif  // SYSV_TESTS_SECURITY_KEEPER_PROBE_H_
