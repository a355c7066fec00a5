#include "backends/common/command_line.h"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/flags/internal/parse.h"
#include "absl/flags/internal/usage.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace sysv::backend {
namespace {

// The flags Abseil itself handles (its usage flags and flag files): they
// are not in the registry we check, and Abseil parses them.
bool IsAbseilBuiltin(absl::string_view name) {
  for (absl::string_view builtin : {"help", "helpfull", "helpshort", "helppackage", "version",
                                    "only_check_args", "helpon", "helpmatch", "flagfile", "fromenv",
                                    "tryfromenv", "undefok"}) {
    if (name == builtin) return true;
  }
  return false;
}

[[noreturn]] void UsageError(absl::string_view program, absl::string_view message) {
  std::fprintf(stderr, "%.*s: %.*s\nTry '%.*s --help' for more information.\n", static_cast<int>(program.size()),
               program.data(), static_cast<int>(message.size()), message.data(), static_cast<int>(program.size()),
               program.data());
  std::exit(kUsageErrorExit);
}

// Checks every flag of argv before Abseil sees it, since Abseil exits 1 on
// an unknown flag or a bad value. Validating a value parses it into the
// flag, which the real parse then does again with the same text.
void CheckFlags(int argc, char** argv, absl::string_view program) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") return;  // the rest is positional
    if (arg.size() < 2 || arg[0] != '-') continue;
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    const size_t equals = arg.find('=');
    const absl::string_view name = arg.substr(0, equals);
    if (IsAbseilBuiltin(name)) continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    bool negated = false;
    if (flag == nullptr && absl::StartsWith(name, "no")) {
      flag = absl::FindCommandLineFlag(name.substr(2));
      negated = flag != nullptr && flag->IsOfType<bool>();
      if (!negated) flag = nullptr;
    }
    if (flag == nullptr) UsageError(program, absl::StrCat("unknown flag '", argv[i], "'"));
    if (negated) {
      if (equals != absl::string_view::npos) UsageError(program, absl::StrCat("'", argv[i], "' takes no value"));
      continue;
    }
    std::string value;
    if (equals != absl::string_view::npos) {
      value = std::string(arg.substr(equals + 1));
    } else if (flag->IsOfType<bool>()) {
      value = "true";
    } else if (i + 1 < argc) {
      value = argv[++i];  // "--flag value"
    } else {
      UsageError(program, absl::StrCat("flag '", argv[i], "' is missing its value"));
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      UsageError(program, absl::StrCat("bad value '", value, "' for --", flag->Name(), ": ", error));
    }
  }
}

}  // namespace

std::vector<char*> ParseCommandLineOrExit(int argc, char** argv, absl::string_view usage,
                                          absl::string_view flag_path) {
  absl::FlagsUsageConfig config;
  config.contains_help_flags = [path = std::string(flag_path)](absl::string_view file) {
    return absl::StrContains(file, path);
  };
  config.contains_helpshort_flags = config.contains_help_flags;
  absl::SetFlagsUsageConfig(config);
  absl::SetProgramUsageMessage(usage);
  const absl::string_view program = argc > 0 ? absl::string_view(argv[0]) : "program";
  const size_t slash = program.rfind('/');
  const absl::string_view name = slash == absl::string_view::npos ? program : program.substr(slash + 1);
  CheckFlags(argc, argv, name);
  std::vector<char*> positional = absl::flags_internal::ParseCommandLineImpl(
      argc, argv, absl::flags_internal::ArgvListAction::kRemoveParsedArgs,
      absl::flags_internal::UsageFlagsAction::kIgnoreUsage,
      absl::flags_internal::OnUndefinedFlag::kAbortIfUndefined);
  // HandleUsageFlags returns 1 for a help flag, 0 for --version and
  // --only_check_args, -1 for none: asking for help is not an error.
  if (absl::flags_internal::HandleUsageFlags(std::cout, usage) >= 0) {
    std::cout.flush();
    std::exit(0);
  }
  return positional;
}

}  // namespace sysv::backend
