// The EventLoop conformance suite for both Linux loops, and the selector.
#include <fcntl.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backends/common/event_loop.h"
#include "backends/common/testing/event_loop_conformance.h"
#include "backends/common/unique_fd.h"
#include "backends/linux/epoll_loop.h"
#include "backends/linux/event_loop_selector.h"
#include "backends/linux/io_uring_loop.h"
#include "core/ipc/errno_status.h"
#include "gtest/gtest.h"

// gtest wants the instantiations in the suite's namespace.
namespace sysv::backend::testing {
INSTANTIATE_TYPED_TEST_SUITE_P(IoUring, EventLoopConformanceTest,
                               ::sysv::linux_backend::IoUringLoop);
INSTANTIATE_TYPED_TEST_SUITE_P(Epoll, EventLoopConformanceTest,
                               ::sysv::linux_backend::EpollLoop);
}  // namespace sysv::backend::testing

namespace sysv::linux_backend {
namespace {

using ::sysv::backend::EventLoop;
using ::sysv::backend::EventLoopKind;
using ::sysv::backend::UniqueFd;
using ::sysv::core::ErrnoOf;

// Sets $SYSV_EVENT_LOOP for the lifetime of the object (nullptr: unset) and
// restores the previous value.
class ScopedEventLoopEnv {
 public:
  explicit ScopedEventLoopEnv(const char* value) {
    const char* old = std::getenv(kEventLoopEnvironmentVariable);
    had_old_ = old != nullptr;
    if (had_old_) old_ = old;
    if (value == nullptr) {
      unsetenv(kEventLoopEnvironmentVariable);
    } else {
      setenv(kEventLoopEnvironmentVariable, value, 1);
    }
  }
  ~ScopedEventLoopEnv() {
    if (had_old_) {
      setenv(kEventLoopEnvironmentVariable, old_.c_str(), 1);
    } else {
      unsetenv(kEventLoopEnvironmentVariable);
    }
  }

 private:
  bool had_old_ = false;
  std::string old_;
};

// io_uring may be refused here (ENOSYS, EPERM); tests that need it skip,
// naming the errno, unless SYSV_REQUIRE_IO_URING=1.
bool IoUringRequired() {
  const char* value = std::getenv("SYSV_REQUIRE_IO_URING");
  return value != nullptr && std::strcmp(value, "1") == 0;
}

// epoll_ctl refuses files that cannot be polled with EPERM; IoUringLoop
// checks for them itself, since a poll request would report a regular file
// as always readable and spin the loop.
template <typename L>
void ExpectRegularFileRefused() {
  absl::StatusOr<std::unique_ptr<L>> loop = L::Create();
  if (!loop.ok()) {
    const int errnum = ErrnoOf(loop.status());
    if ((errnum == ENOSYS || errnum == EPERM) &&
        !sysv::backend::testing::event_loop_conformance_internal::
            CapabilityRequired(L::kName)) {
      GTEST_SKIP() << L::kName << " is unavailable here: "
                   << std::strerror(errnum) << " (errno " << errnum << ")";
    }
    FAIL() << L::kName << ": " << loop.status();
  }
  UniqueFd file(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(file.valid());
  absl::Status status = (*loop)->Watch(file.get(), [] {});
  EXPECT_EQ(ErrnoOf(status), EPERM) << L::kName << ": " << status;
}

TEST(EventLoopWatchTest, EpollRefusesRegularFile) {
  ExpectRegularFileRefused<EpollLoop>();
}

TEST(EventLoopWatchTest, IoUringRefusesRegularFile) {
  ExpectRegularFileRefused<IoUringLoop>();
}

TEST(EventLoopSelectorTest, PrintsNames) {
  std::printf("IoUringLoop::kName = %s\nEpollLoop::kName = %s\n",
              IoUringLoop::kName, EpollLoop::kName);
  EXPECT_STREQ(IoUringLoop::kName, "io_uring");
  EXPECT_STREQ(EpollLoop::kName, "epoll");
}

TEST(EventLoopSelectorTest, ProbeReportsIoUring) {
  const absl::Status probe = ProbeIoUring();
  std::printf("ProbeIoUring: %s\n", probe.ToString().c_str());
  if (!probe.ok()) {
    const int errnum = ErrnoOf(probe);
    if ((errnum == ENOSYS || errnum == EPERM) && !IoUringRequired()) {
      GTEST_SKIP() << "io_uring unavailable: " << std::strerror(errnum)
                   << " (errno " << errnum << ")";
    }
    FAIL() << probe;
  }
}

TEST(EventLoopSelectorTest, EpollOnRequest) {
  ScopedEventLoopEnv env(nullptr);
  absl::StatusOr<std::unique_ptr<EventLoop>> loop =
      MakeEventLoop(EventLoopKind::kEpoll);
  ASSERT_TRUE(loop.ok()) << loop.status();
  EXPECT_STREQ((*loop)->name(), "epoll");
}

TEST(EventLoopSelectorTest, IoUringOnRequestOrTheProbesError) {
  ScopedEventLoopEnv env(nullptr);
  const absl::Status probe = ProbeIoUring();
  absl::StatusOr<std::unique_ptr<EventLoop>> loop =
      MakeEventLoop(EventLoopKind::kIoUring);
  if (probe.ok()) {
    ASSERT_TRUE(loop.ok()) << loop.status();
    EXPECT_STREQ((*loop)->name(), "io_uring");
  } else {
    ASSERT_FALSE(loop.ok());
    EXPECT_EQ(ErrnoOf(loop.status()), ErrnoOf(probe)) << loop.status();
  }
}

TEST(EventLoopSelectorTest, AutoPrefersIoUringAndFallsBackToEpoll) {
  ScopedEventLoopEnv env(nullptr);
  absl::StatusOr<std::unique_ptr<EventLoop>> loop =
      MakeEventLoop(EventLoopKind::kAuto);
  ASSERT_TRUE(loop.ok()) << loop.status();
  std::printf("auto chose %s\n", (*loop)->name());
  EXPECT_STREQ((*loop)->name(), ProbeIoUring().ok() ? "io_uring" : "epoll");
}

TEST(EventLoopSelectorTest, EnvironmentOverridesAuto) {
  ScopedEventLoopEnv env("epoll");
  absl::StatusOr<std::unique_ptr<EventLoop>> loop =
      MakeEventLoop(EventLoopKind::kAuto);
  ASSERT_TRUE(loop.ok()) << loop.status();
  EXPECT_STREQ((*loop)->name(), "epoll");
}

TEST(EventLoopSelectorTest, EnvironmentDoesNotOverrideExplicitKind) {
  ScopedEventLoopEnv env("io_uring");
  absl::StatusOr<std::unique_ptr<EventLoop>> loop =
      MakeEventLoop(EventLoopKind::kEpoll);
  ASSERT_TRUE(loop.ok()) << loop.status();
  EXPECT_STREQ((*loop)->name(), "epoll");
}

TEST(EventLoopSelectorTest, EmptyEnvironmentMeansAuto) {
  ScopedEventLoopEnv env("");
  absl::StatusOr<std::unique_ptr<EventLoop>> loop =
      MakeEventLoop(EventLoopKind::kAuto);
  ASSERT_TRUE(loop.ok()) << loop.status();
}

TEST(EventLoopSelectorTest, BadEnvironmentValueIsAnError) {
  ScopedEventLoopEnv env("kqueue");
  absl::StatusOr<std::unique_ptr<EventLoop>> loop =
      MakeEventLoop(EventLoopKind::kAuto);
  ASSERT_FALSE(loop.ok());
  EXPECT_EQ(ErrnoOf(loop.status()), EINVAL);
  EXPECT_NE(loop.status().message().find("SYSV_EVENT_LOOP"),
            absl::string_view::npos)
      << loop.status();
}

}  // namespace
}  // namespace sysv::linux_backend
