// Command lines of our programs (sysvipcd, sysvipc bench, load_bench) by the
// conventions users expect of a Unix tool, which Abseil's default parser
// does not follow: --help prints usage on stdout and exits 0; an unknown
// flag or a bad value prints one line naming it and exits 2 (util-linux's
// tools and getopt programs do both; Abseil exits 1 for either).
#ifndef SYSV_BACKENDS_COMMON_COMMAND_LINE_H_
#define SYSV_BACKENDS_COMMON_COMMAND_LINE_H_

#include <vector>

#include "absl/strings/string_view.h"

namespace sysv::backend {

// The exit status of a usage error, as getopt programs use it.
inline constexpr int kUsageErrorExit = 2;

// Parses the Abseil flags of argv. `usage` is the program's usage text;
// --help lists it and the flags defined in files whose path contains
// `flag_path` (Abseil would list only files named after the program).
// Exits the process for --help (0) and for a usage error (2); otherwise
// returns the positional arguments, argv[0] first.
std::vector<char*> ParseCommandLineOrExit(int argc, char** argv, absl::string_view usage,
                                          absl::string_view flag_path);

}  // namespace sysv::backend

#endif  // SYSV_BACKENDS_COMMON_COMMAND_LINE_H_
