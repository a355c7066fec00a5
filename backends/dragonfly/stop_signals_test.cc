// OpenStopSignals over EVFILT_SIGNAL (stop_signals.h), against the kqueue
// double: SIGTERM makes the descriptor readable and kills nobody.
#include "backends/dragonfly/stop_signals.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include "gtest/gtest.h"

namespace sysv::dragonfly_backend {
namespace {

bool Readable(int fd, int timeout_ms) {
  struct pollfd ready = {fd, POLLIN, 0};
  return poll(&ready, 1, timeout_ms) == 1;
}

TEST(StopSignalsTest, SigtermMakesItReadable) {
  absl::StatusOr<sysv::backend::UniqueFd> fd = OpenStopSignals();
  ASSERT_TRUE(fd.ok()) << fd.status();
  EXPECT_FALSE(Readable(fd->get(), 0));
  ASSERT_EQ(kill(getpid(), SIGTERM), 0);  // blocked: no default action
  EXPECT_TRUE(Readable(fd->get(), 5000));
}

}  // namespace
}  // namespace sysv::dragonfly_backend
