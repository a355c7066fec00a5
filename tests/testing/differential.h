// The machinery of differential tests: run one generated sequence against
// the kernel and against libsysv, each in a forked process, and compare the
// traces they write line by line.
#ifndef SYSV_TESTS_TESTING_DIFFERENTIAL_H_
#define SYSV_TESTS_TESTING_DIFFERENTIAL_H_

#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace sysv::testing {

// Writes trace lines to a pipe at once, so a side that crashes still shows
// how far it got.
class TraceWriter {
 public:
  explicit TraceWriter(int fd) : fd_(fd) {}
  void Line(int step, const std::string& text);

 private:
  int fd_;
};

// Whether this process may create a private kernel IPC namespace (then ids
// can be compared literally: both sides start from an empty namespace).
bool CanUseFreshKernelNamespace();
// unshare(CLONE_NEWIPC) in the calling process.
bool EnterFreshKernelNamespace();

// Runs `prepare` then `run` in a forked child; returns the trace it wrote.
// A child that died is reported as a test failure naming `side`.
std::vector<std::string> TraceInChild(const char* side, const std::function<bool()>& prepare,
                                      const std::function<void(TraceWriter&)>& run);

// Fails the current test at the first line where the traces differ, with
// the lines before it; writes both whole traces to
// $TEST_UNDECLARED_OUTPUTS_DIR/<tag>.{kernel,libsysv}.txt.
void ExpectSameTraces(const std::vector<std::string>& kernel, const std::vector<std::string>& libsysv,
                      const std::string& tag);

// What every generated sequence (the shm, sem and msg differential tests)
// shares: a seeded choice, the trace it writes step by step, and the
// process it runs in.
class SequenceRunner {
 protected:
  SequenceRunner(uint32_t seed, bool literal_ids, TraceWriter& out)
      : rng_(seed), literal_ids_(literal_ids), self_(getpid()), out_(out) {}

  // A number in [0, n).
  uint32_t Pick(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng_); }
  template <typename T>
  T PickOf(const std::vector<T>& values) {
    return values[Pick(static_cast<uint32_t>(values.size()))];
  }
  // A call's result: the number, or "-1 " and errno's name.
  static std::string Result(long result);
  // How an id is traced: itself when both sides start from an empty
  // namespace (`literal_ids`), else its place among `known` ("<prefix>#2").
  std::string IdName(int id, const std::vector<int>& known, const char* prefix) const;
  void Record(const std::string& line) { out_.Line(step_, line); }

  std::mt19937 rng_;
  bool literal_ids_;
  pid_t self_;
  TraceWriter& out_;
  int step_ = 0;
};

// How many lines of `trace` contain `text`.
long CountLines(const std::vector<std::string>& trace, const std::string& text);

// Runs `body` in a forked child and returns the text it produced: a script's
// "another process" step. With `uid` >= 0 the child first becomes that user
// and group `gid` ("cannot switch user" otherwise).
std::string InOtherProcess(const std::function<std::string()>& body, int uid = -1, int gid = -1);

// "self", "other" or "0": a pid as seen from the process that ran the trace.
std::string RelativePid(pid_t pid, pid_t self);

// The number of seeds to run: SYSV_DIFF_SEEDS, else `default_count`.
uint32_t SeedCount(uint32_t default_count);

}  // namespace sysv::testing

#endif  // SYSV_TESTS_TESTING_DIFFERENTIAL_H_
