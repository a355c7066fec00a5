#include "tests/testing/differential.h"

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace sysv::testing {

void TraceWriter::Line(int step, const std::string& text) {
  const std::string line = absl::StrCat(step, ": ", text, "\n");
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = write(fd_, line.data() + done, line.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
}

bool EnterFreshKernelNamespace() { return unshare(CLONE_NEWIPC) == 0; }

bool CanUseFreshKernelNamespace() {
  const pid_t probe = fork();
  if (probe == 0) _exit(EnterFreshKernelNamespace() ? 0 : 1);
  int status = 0;
  waitpid(probe, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::vector<std::string> TraceInChild(const char* side, const std::function<bool()>& prepare,
                                      const std::function<void(TraceWriter&)>& run) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    TraceWriter writer(fds[1]);
    if (!prepare()) {
      writer.Line(-1, "PREPARE FAILED");
    } else {
      run(writer);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string text;
  char chunk[65536];
  ssize_t n;
  while ((n = read(fds[0], chunk, sizeof(chunk))) > 0) text.append(chunk, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << side << " side died: status " << status << " after: " << text.substr(text.size() > 300 ? text.size() - 300 : 0);
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

void ExpectSameTraces(const std::vector<std::string>& kernel, const std::vector<std::string>& libsysv,
                      const std::string& tag) {
  ASSERT_GT(kernel.size(), 10u) << "the kernel trace is too short to mean anything";
  for (size_t i = 0; i < std::min(kernel.size(), libsysv.size()); ++i) {
    if (kernel[i] == libsysv[i]) continue;
    if (const char* dir = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR")) {
      for (const auto& [name, trace] : {std::pair{"kernel", &kernel}, std::pair{"libsysv", &libsysv}}) {
        if (FILE* f = std::fopen(absl::StrCat(dir, "/", tag, ".", name, ".txt").c_str(), "w")) {
          std::fputs(absl::StrJoin(*trace, "\n").c_str(), f);
          std::fclose(f);
        }
      }
    }
    std::string context;
    for (size_t j = i >= 5 ? i - 5 : 0; j < i; ++j) absl::StrAppend(&context, "  ", kernel[j], "\n");
    FAIL() << tag << ": first difference at line " << i << "\n"
           << context << "kernel : " << kernel[i] << "\nlibsysv: " << libsysv[i];
  }
  EXPECT_EQ(kernel.size(), libsysv.size());
}

std::string InOtherProcess(const std::function<std::string()>& body, int uid, int gid) {
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    std::string line = "cannot switch user";
    if (uid < 0 || (setresgid(gid, gid, gid) == 0 && setresuid(uid, uid, uid) == 0)) line = body();
    (void)!write(fds[1], line.data(), line.size());
    _exit(0);
  }
  close(fds[1]);
  std::string line;
  char chunk[256];
  ssize_t n;
  while ((n = read(fds[0], chunk, sizeof(chunk))) > 0) line.append(chunk, static_cast<size_t>(n));
  close(fds[0]);
  waitpid(pid, nullptr, 0);
  return line;
}

std::string RelativePid(pid_t pid, pid_t self) {
  if (pid == 0) return "0";
  return pid == self ? "self" : "other";
}

uint32_t SeedCount(uint32_t default_count) {
  const char* text = std::getenv("SYSV_DIFF_SEEDS");
  const long n = text != nullptr ? std::strtol(text, nullptr, 10) : 0;
  return n > 0 ? static_cast<uint32_t>(n) : default_count;
}

std::string SequenceRunner::Result(long result) {
  return result == -1 ? absl::StrCat("-1 ", strerrorname_np(errno)) : absl::StrCat(result);
}

std::string SequenceRunner::IdName(int id, const std::vector<int>& known, const char* prefix) const {
  if (literal_ids_ || id < 0) return absl::StrCat(id);
  for (size_t i = 0; i < known.size(); ++i) {
    if (known[i] == id) return absl::StrCat(prefix, "#", i);
  }
  return absl::StrCat(prefix, "?");
}

long CountLines(const std::vector<std::string>& trace, const std::string& text) {
  long count = 0;
  for (const std::string& line : trace) count += line.find(text) != std::string::npos ? 1 : 0;
  return count;
}

}  // namespace sysv::testing
