// Where a util-linux style command writes, and how it reports errors.
//
// util-linux prints diagnostics with warnx()/err() from <err.h>, prefixed
// with program_invocation_short_name, ends with errtryhelp() on bad usage, and
// checks stdout on exit (close_stdout_atexit()). The commands here run as
// library calls, so they write to the streams they are given and return the
// exit status instead of calling exit(); CommandContext carries the streams
// and the program name and formats those messages exactly.
#ifndef SYSV_TOOLS_COMMAND_CONTEXT_H_
#define SYSV_TOOLS_COMMAND_CONTEXT_H_

#include <cstdio>
#include <string>

#include "absl/strings/str_format.h"

namespace sysv::tools {

class CommandContext {
 public:
  // The program name is the last component of argv[0] (as
  // program_invocation_short_name is), or `default_name` without argv[0].
  CommandContext(int argc, char* const* argv, std::FILE* out, std::FILE* err,
                 const char* default_name);

  std::FILE* out() const { return out_; }
  std::FILE* err() const { return err_; }
  const std::string& name() const { return name_; }

  // warnx(3): "<name>: <message>\n" on err().
  template <typename... Args>
  void Warnx(const absl::FormatSpec<Args...>& format,
             const Args&... args) const {
    absl::FPrintF(err_, "%s: ", name_);
    absl::FPrintF(err_, format, args...);
    std::fputc('\n', err_);
  }

  // warn(3) with an explicit errno: "<name>: <message>: <strerror>\n".
  // strerror(0) is "Success", which util-linux prints in a few places.
  template <typename... Args>
  void Warn(int errnum, const absl::FormatSpec<Args...>& format,
            const Args&... args) const {
    absl::FPrintF(err_, "%s: ", name_);
    absl::FPrintF(err_, format, args...);
    absl::FPrintF(err_, ": %s\n", ErrnoText(errnum));
  }

  // errtryhelp(): prints the hint and returns EXIT_FAILURE.
  int TryHelp() const;

  // close_stdout(): flushes out(); if writing failed (other than EPIPE),
  // prints "write error" and returns EXIT_FAILURE, else returns `status`.
  int Finish(int status) const;

  // strerror() of `errnum`, thread-safe.
  static std::string ErrnoText(int errnum);

 private:
  std::FILE* const out_;
  std::FILE* const err_;
  std::string name_;
};

}  // namespace sysv::tools

#endif  // SYSV_TOOLS_COMMAND_CONTEXT_H_
