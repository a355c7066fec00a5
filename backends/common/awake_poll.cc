#include "backends/common/awake_poll.h"

#include <poll.h>
#include <sched.h>
#include <time.h>

#include <cerrno>
#include <cstdint>

#include "absl/time/time.h"

namespace sysv::backend {
namespace {

int64_t MonotonicNanos() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1000000000 + now.tv_nsec;
}

}  // namespace

bool ReportsAnything(int fd) {
  struct pollfd ready = {fd, POLLIN, 0};
  int polled;
  do {
    polled = poll(&ready, 1, 0);
  } while (polled < 0 && errno == EINTR);
  return polled != 0;
}

void AwaitAwake(int fd, absl::Duration awake_for) {
  // A zero-timeout poll() asks without allocating or consuming anything;
  // once it reports anything, the caller's read returns at once. The clock
  // is read every few tries only: a reply usually comes within the first few.
  constexpr int kTriesPerClockRead = 16;
  const int64_t end_nanos = MonotonicNanos() + absl::ToInt64Nanoseconds(awake_for);
  for (int tries = 1;; ++tries) {
    if (ReportsAnything(fd)) return;
    if (tries % kTriesPerClockRead == 0 && MonotonicNanos() >= end_nanos) return;
    sched_yield();
  }
}

}  // namespace sysv::backend
