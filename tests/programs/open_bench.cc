// open()+close() of an unrelated file, timed: run it with and without
// libsysv.so preloaded to see what libsysv's open interposers
// (compat/proc_files.cc) cost a program's other opens.
// Usage: open_bench [PATH [ITERATIONS]] (default /etc/hostname, 200000).
// Prints the best of 5 rounds in nanoseconds per open+close. An open that
// fails is timed too (PATH "" fails at once with ENOENT: the call with the
// least work in the kernel, where the interposers' share is largest).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  const char* path = argc > 1 ? argv[1] : "/etc/hostname";
  const long iterations = argc > 2 ? std::atol(argv[2]) : 200000;
  double best = 1e18;
  for (int round = 0; round < 5; ++round) {
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < iterations; ++i) {
      const int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd >= 0) close(fd);
    }
    const std::chrono::duration<double, std::nano> elapsed = std::chrono::steady_clock::now() - start;
    best = std::min(best, elapsed.count() / static_cast<double>(iterations));
  }
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  std::printf("open%s \"%s\": %.1f ns\n", fd >= 0 ? "+close" : " (failing)", path, best);
  return 0;
}
