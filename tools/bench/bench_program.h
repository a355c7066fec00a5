// What both benchmark programs (`sysvipc bench` and load_bench) share: the
// command-line handling, and the context a report names.
#ifndef SYSV_TOOLS_BENCH_BENCH_PROGRAM_H_
#define SYSV_TOOLS_BENCH_BENCH_PROGRAM_H_

#include <optional>
#include <string>

namespace sysv::bench {

// Refuses to run with libsysv in LD_PRELOAD (it would take the kernel
// side's calls too, and the table would compare libsysv with itself), makes
// --help list the flags defined in files under `flag_path` (Abseil lists
// those of files named after the program, which none of ours is), and
// parses the command line, which takes no positional argument. Returns the
// exit status to leave with (2, after a message naming `program`), or
// nullopt to go on.
std::optional<int> ParseBenchCommandLine(int argc, char** argv, const char* program, const char* flag_path,
                                         const char* usage);

// "Linux 6.18.44 x86_64, 2 CPUs": the system a report was measured on.
std::string MachineDescription();

// The current time as "2026-11-26T13:31:24Z".
std::string UtcTimestamp();

}  // namespace sysv::bench

#endif  // SYSV_TOOLS_BENCH_BENCH_PROGRAM_H_
