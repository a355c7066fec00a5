#include "tools/bench/bench_program.h"

#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "backends/common/command_line.h"

namespace sysv::bench {

std::optional<int> ParseBenchCommandLine(int argc, char** argv, const char* program, const char* flag_path,
                                         const char* usage) {
  if (const char* preload = std::getenv("LD_PRELOAD"); preload != nullptr && absl::StrContains(preload, "libsysv")) {
    std::fprintf(stderr, "%s: do not run with libsysv in LD_PRELOAD; it measures both sides itself\n", program);
    return 2;
  }
  const std::vector<char*> positional = backend::ParseCommandLineOrExit(argc, argv, usage, flag_path);
  if (positional.size() > 1) {
    std::fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", program, positional[1]);
    return 2;
  }
  return std::nullopt;
}

std::string MachineDescription() {
  struct utsname name;
  if (uname(&name) != 0) return "unknown machine";
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  return absl::StrCat(name.sysname, " ", name.release, " ", name.machine, ", ", cpus, cpus == 1 ? " CPU" : " CPUs");
}

std::string UtcTimestamp() {
  const time_t now = time(nullptr);
  struct tm utc;
  gmtime_r(&now, &utc);
  char text[32];
  strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace sysv::bench
