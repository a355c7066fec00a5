#include "tools/command_context.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace sysv::tools {
namespace {

// strerror_r's two standards, told apart by its result type: GNU's returns
// the text (`buffer` or a static string); XSI's (the BSDs') returns an
// error number and always fills `buffer` ("Unknown error: N" for one it
// does not know). The overload the C library's declaration picks is used.
[[maybe_unused]] const char* StrerrorText(const char* text, const char* /*buffer*/) { return text; }
[[maybe_unused]] const char* StrerrorText(int /*result*/, const char* buffer) { return buffer; }

}  // namespace

CommandContext::CommandContext(int argc, char* const* argv, std::FILE* out,
                               std::FILE* err, const char* default_name)
    : out_(out), err_(err), name_(default_name) {
  if (argc > 0 && argv[0] != nullptr && argv[0][0] != '\0') {
    const char* slash = std::strrchr(argv[0], '/');
    name_ = slash != nullptr ? slash + 1 : argv[0];
  }
}

int CommandContext::TryHelp() const {
  absl::FPrintF(err_, "Try '%s --help' for more information.\n", name_);
  return EXIT_FAILURE;
}

int CommandContext::Finish(int status) const {
  const bool failed_before = std::ferror(out_) != 0;
  errno = 0;
  const bool flush_failed = std::fflush(out_) != 0;
  const int flush_errno = errno;
  if (!failed_before && !flush_failed) return status;
  if (flush_failed && flush_errno == EPIPE) return status;
  // close_stream() reports errno only when the final write itself failed.
  if (flush_failed && flush_errno != 0) {
    Warn(flush_errno, "write error");
  } else {
    Warnx("write error");
  }
  return EXIT_FAILURE;
}

std::string CommandContext::ErrnoText(int errnum) {
  char buffer[256];
  buffer[0] = '\0';
  return StrerrorText(strerror_r(errnum, buffer, sizeof(buffer)), buffer);
}

}  // namespace sysv::tools
