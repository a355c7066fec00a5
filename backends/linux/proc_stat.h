// Parsing one line of /proc/<pid>/stat (or /proc/<tid>/stat): the fields
// both the daemon's process watch and the region mutex's owner probe need.
// Allocation-free and without Abseil, since the probe runs inside a client's
// lock path.
#ifndef SYSV_BACKENDS_LINUX_PROC_STAT_H_
#define SYSV_BACKENDS_LINUX_PROC_STAT_H_

#include <cstdint>
#include <optional>
#include <string_view>

namespace sysv::linux_backend {

struct ProcStatLine {
  uint32_t tid = 0;         // field 1: the pid (for a thread's file, its tid)
  char state = '?';         // field 3: R, S, D, Z (zombie), X (dead), ...
  uint32_t ppid = 0;        // field 4: the parent (0 for the namespace's init's parent)
  uint64_t start_ticks = 0; // field 22: clock ticks after boot
};

// The second field is the command name in parentheses, which may itself
// contain spaces and ')' (a process chooses its own name with
// prctl(PR_SET_NAME)); the fields after it are found from the LAST ')',
// which the name cannot follow. nullopt if `stat` is not in that format.
std::optional<ProcStatLine> ParseProcStatLine(std::string_view stat);

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_PROC_STAT_H_
