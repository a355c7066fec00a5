#include "tests/security/other_user_programs.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace sysv::testing {

std::string MakeRootDir(const std::string& tag, mode_t mode) {
  std::string pattern = absl::StrCat("/tmp/sysv-sec-", tag, "-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr || chmod(pattern.c_str(), mode) != 0) return "";
  return pattern;
}

std::string CopyProgram(const std::string& source, const std::string& dir, mode_t mode) {
  const size_t slash = source.rfind('/');
  const std::string copy = absl::StrCat(dir, "/", slash == std::string::npos ? source : source.substr(slash + 1));
  std::ifstream in(source, std::ios::binary);
  std::ofstream out(copy, std::ios::binary | std::ios::trunc);
  if (!in || !out) return "";
  out << in.rdbuf();
  out.close();
  if (!out || chown(copy.c_str(), 0, 0) != 0 || chmod(copy.c_str(), mode) != 0) return "";
  return copy;
}

Captured RunAsCaptured(const Identity& who, const std::function<int()>& body) {
  Captured result;
  char path[] = "/tmp/sysv-sec-output-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return result;
  unlink(path);
  result.status = RunAs(who, [&] {
    dup2(fd, STDERR_FILENO);
    dup2(fd, STDOUT_FILENO);
    return body();
  });
  char chunk[4096];
  ssize_t n;
  off_t offset = 0;
  while ((n = pread(fd, chunk, sizeof(chunk), offset)) > 0) {
    result.output.append(chunk, static_cast<size_t>(n));
    offset += n;
  }
  close(fd);
  return result;
}

pid_t LockFilePid(const std::string& dir) {
  int pid = 0;
  const std::string text = FileContents(absl::StrCat(dir, "/sysvipcd.lock"));
  return absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &pid) ? pid : 0;
}

void StopDetachedDaemon(pid_t pid) {
  if (pid <= 0 || kill(pid, SIGTERM) != 0) return;
  for (int i = 0; i < 500 && kill(pid, 0) == 0; ++i) usleep(10000);
}

std::string FileContents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "<missing>";
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace sysv::testing
