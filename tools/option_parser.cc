#include "tools/option_parser.h"

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_format.h"

namespace sysv::tools {

OptionParser::OptionParser(int argc, char* const* argv,
                           const char* short_options,
                           absl::Span<const LongOption> long_options,
                           std::FILE* err)
    : argc_(argc),
      argv_(argv),
      short_options_(short_options),
      long_options_(long_options),
      err_(err) {
  // glibc: a leading '+' or POSIXLY_CORRECT selects REQUIRE_ORDER.
  if (!short_options_.empty() && short_options_[0] == '+') {
    short_options_.erase(0, 1);
    stop_at_first_operand_ = true;
  } else if (std::getenv("POSIXLY_CORRECT") != nullptr) {
    stop_at_first_operand_ = true;
  }
}

const char* OptionParser::ProgramName() const {
  return argc_ > 0 && argv_[0] != nullptr ? argv_[0] : "";
}

int OptionParser::Next() {
  argument_ = nullptr;
  if (done_) return -1;
  if (cluster_ != nullptr && *cluster_ != '\0') return NextShortOption();
  cluster_ = nullptr;
  while (index_ < argc_) {
    char* arg = argv_[index_];
    if (std::strcmp(arg, "--") == 0) {
      ++index_;
      break;
    }
    const bool is_operand = arg[0] != '-' || arg[1] == '\0';
    if (is_operand) {
      if (stop_at_first_operand_) break;
      // PERMUTE: operands are collected and handed back after the options.
      operands_.push_back(arg);
      ++index_;
      continue;
    }
    ++index_;
    if (arg[1] == '-') return NextLongOption(arg + 2);
    cluster_ = arg + 1;
    return NextShortOption();
  }
  for (; index_ < argc_; ++index_) operands_.push_back(argv_[index_]);
  done_ = true;
  return -1;
}

int OptionParser::NextShortOption() {
  const char c = *cluster_++;
  const bool last_in_cluster = *cluster_ == '\0';
  const char* spec =
      (c == ':' || c == ';') ? nullptr : std::strchr(short_options_.c_str(), c);
  if (spec == nullptr) {
    absl::FPrintF(err_, "%s: invalid option -- '%c'\n", ProgramName(), c);
    if (last_in_cluster) cluster_ = nullptr;
    return '?';
  }
  if (spec[1] != ':') {
    if (last_in_cluster) cluster_ = nullptr;
    return c;
  }
  if (spec[2] == ':') {
    // Optional argument: only when attached ("-ashm").
    if (!last_in_cluster) argument_ = cluster_;
  } else if (!last_in_cluster) {
    argument_ = cluster_;
  } else if (index_ < argc_) {
    argument_ = argv_[index_++];
  } else {
    absl::FPrintF(err_, "%s: option requires an argument -- '%c'\n",
                  ProgramName(), c);
    cluster_ = nullptr;
    return '?';
  }
  cluster_ = nullptr;
  return c;
}

int OptionParser::NextLongOption(const char* text) {
  const char* name_end = text;
  while (*name_end != '\0' && *name_end != '=') ++name_end;
  const size_t name_length = static_cast<size_t>(name_end - text);

  const LongOption* found = nullptr;
  for (const LongOption& option : long_options_) {
    if (std::strncmp(option.name, text, name_length) == 0 &&
        std::strlen(option.name) == name_length) {
      found = &option;
      break;
    }
  }
  if (found == nullptr) {
    // An abbreviation. glibc calls it ambiguous only when two candidates
    // differ in what they do; the message lists the first candidate and every
    // later one that differs from it, in table order.
    size_t found_index = 0;
    std::vector<bool> ambiguous;
    for (size_t i = 0; i < long_options_.size(); ++i) {
      const LongOption& option = long_options_[i];
      if (std::strncmp(option.name, text, name_length) != 0) continue;
      if (found == nullptr) {
        found = &option;
        found_index = i;
      } else if (found->argument != option.argument ||
                 found->value != option.value) {
        if (ambiguous.empty()) {
          ambiguous.assign(long_options_.size(), false);
          ambiguous[found_index] = true;
        }
        ambiguous[i] = true;
      }
    }
    if (!ambiguous.empty()) {
      absl::FPrintF(err_, "%s: option '--%s' is ambiguous; possibilities:",
                    ProgramName(), text);
      for (size_t i = 0; i < long_options_.size(); ++i) {
        if (ambiguous[i]) absl::FPrintF(err_, " '--%s'", long_options_[i].name);
      }
      absl::FPrintF(err_, "\n");
      return '?';
    }
  }
  if (found == nullptr) {
    absl::FPrintF(err_, "%s: unrecognized option '--%s'\n", ProgramName(),
                  text);
    return '?';
  }
  if (*name_end == '=') {
    if (found->argument == ArgumentKind::kNone) {
      absl::FPrintF(err_, "%s: option '--%s' doesn't allow an argument\n",
                    ProgramName(), found->name);
      return '?';
    }
    argument_ = name_end + 1;
  } else if (found->argument == ArgumentKind::kRequired) {
    if (index_ >= argc_) {
      absl::FPrintF(err_, "%s: option '--%s' requires an argument\n",
                    ProgramName(), found->name);
      return '?';
    }
    argument_ = argv_[index_++];
  }
  return found->value;
}

}  // namespace sysv::tools
