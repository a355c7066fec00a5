// A re-entrant GNU getopt_long() for the util-linux compatible commands.
//
// util-linux parses its options with glibc's getopt_long(), and scripts see
// that parser's behaviour: argv is permuted so options may follow operands,
// "--" ends the options, long options may be abbreviated to any unambiguous
// prefix, "--name=value" and "--name value" both work, and errors print
//   <argv[0]>: invalid option -- 'x'
//   <argv[0]>: unrecognized option '--foo'
//   <argv[0]>: option requires an argument -- 'i'
//   <argv[0]>: option '--id' requires an argument
//   <argv[0]>: option '--human' doesn't allow an argument
//   <argv[0]>: option '--s' is ambiguous; possibilities: '--shmems' ...
// OptionParser reproduces all of that (mirroring posix/getopt.c of glibc
// 2.36), but keeps its state in the object rather than in optind/optarg, does
// not reorder the caller's argv, and writes its messages to a given stream,
// so that a command can run as a library call. Not supported, as no command
// here needs them: "-W foo", getopt_long_only(), optional ':' error mode, and
// the '-' (RETURN_IN_ORDER) mode. POSIXLY_CORRECT and a leading '+' in the
// short options stop option parsing at the first operand, as in glibc.
#ifndef SYSV_TOOLS_OPTION_PARSER_H_
#define SYSV_TOOLS_OPTION_PARSER_H_

#include <cstdio>
#include <string>
#include <vector>

#include "absl/types/span.h"

namespace sysv::tools {

enum class ArgumentKind { kNone, kRequired, kOptional };

struct LongOption {
  const char* name;
  ArgumentKind argument;
  int value;  // What Next() returns for this option.
};

class OptionParser {
 public:
  // `argv` must hold `argc` strings and outlive the parser; it is not
  // modified. `short_options` uses getopt's syntax ("i:a::v").
  OptionParser(int argc, char* const* argv, const char* short_options,
               absl::Span<const LongOption> long_options, std::FILE* err);

  // Returns the next option: its character or LongOption::value; '?' after
  // printing a message for an unknown option, a missing argument, an
  // unexpected argument or an ambiguous abbreviation; -1 when no options are
  // left. After -1, operands() is complete and Next() keeps returning -1.
  int Next();

  // The argument of the option Next() just returned, or nullptr if it has
  // none (an optional argument that was not given).
  const char* argument() const { return argument_; }

  // The operands (non-option arguments), in the order getopt_long() would
  // leave them at argv[optind..argc-1] after permuting. Complete once Next()
  // has returned -1.
  const std::vector<char*>& operands() const { return operands_; }

 private:
  int NextShortOption();
  int NextLongOption(const char* text);
  const char* ProgramName() const;

  const int argc_;
  char* const* const argv_;
  std::string short_options_;
  const absl::Span<const LongOption> long_options_;
  std::FILE* const err_;
  bool stop_at_first_operand_ = false;

  int index_ = 1;                   // Next argv element to look at.
  const char* cluster_ = nullptr;   // Rest of a "-abc" cluster, or nullptr.
  const char* argument_ = nullptr;
  bool done_ = false;
  std::vector<char*> operands_;
};

}  // namespace sysv::tools

#endif  // SYSV_TOOLS_OPTION_PARSER_H_
