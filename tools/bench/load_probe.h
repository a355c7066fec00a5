// What the load benchmark records about the daemon: its memory, mappings
// and descriptors, read from /proc/<pid> (the daemon's own view, not a
// client's estimate), and its pid, learnt from the kernel.
#ifndef SYSV_TOOLS_BENCH_LOAD_PROBE_H_
#define SYSV_TOOLS_BENCH_LOAD_PROBE_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace sysv::bench {

struct ProcessFigures {
  int64_t rss_kib = 0;      // VmRSS: resident now
  int64_t hwm_kib = 0;      // VmHWM: the most resident so far
  int64_t vm_size_kib = 0;  // VmSize: address space reserved
  int64_t maps = 0;         // lines of /proc/<pid>/maps (vm.max_map_count counts these)
  int64_t fds = 0;          // entries of /proc/<pid>/fd
};

// Reads the figures of process `pid`. Results: the figures; ENOENT when the
// process is gone; the errno of the failing open otherwise.
absl::StatusOr<ProcessFigures> ProbeProcess(pid_t pid);

// The pid of the daemon serving namespace `dir`: a connection to its socket
// and the peer's kernel credentials (the daemon drops the connection, which
// never registers); where those carry no pid (DragonFly), the daemon's lock
// file.
absl::StatusOr<pid_t> DaemonPid(const std::string& dir);

// The 1-, 5- and 15-minute load averages as "0.50 0.40 0.30", or "unknown":
// how busy the machine was (the figures of a shared machine mean little
// without it).
std::string LoadAverage();

}  // namespace sysv::bench

#endif  // SYSV_TOOLS_BENCH_LOAD_PROBE_H_
