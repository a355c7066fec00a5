// The DragonFly selector on Linux, against the kqueue double.
#include "backends/dragonfly/event_loop_selector.h"

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "backends/common/event_loop.h"
#include "core/ipc/errno_status.h"
#include "gtest/gtest.h"

namespace sysv::dragonfly_backend {
namespace {

using ::sysv::backend::EventLoop;
using ::sysv::backend::EventLoopKind;
using ::sysv::core::ErrnoOf;

// Sets $SYSV_EVENT_LOOP for the lifetime of the object (nullptr: unset).
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

TEST(DragonFlyEventLoopSelectorTest, AutoIsKqueue) {
  for (const char* env : {static_cast<const char*>(nullptr), "", "auto"}) {
    ScopedEventLoopEnv scoped(env);
    absl::StatusOr<std::unique_ptr<EventLoop>> loop =
        MakeEventLoop(EventLoopKind::kAuto);
    ASSERT_TRUE(loop.ok()) << loop.status();
    EXPECT_STREQ((*loop)->name(), "kqueue");
  }
}

TEST(DragonFlyEventLoopSelectorTest, LinuxMechanismsAreEnosys) {
  ScopedEventLoopEnv scoped(nullptr);
  EXPECT_EQ(ErrnoOf(MakeEventLoop(EventLoopKind::kEpoll).status()), ENOSYS);
  EXPECT_EQ(ErrnoOf(MakeEventLoop(EventLoopKind::kIoUring).status()), ENOSYS);
}

TEST(DragonFlyEventLoopSelectorTest, EnvironmentIsHonouredAndChecked) {
  {
    ScopedEventLoopEnv scoped("epoll");
    EXPECT_EQ(ErrnoOf(MakeEventLoop(EventLoopKind::kAuto).status()), ENOSYS);
  }
  {
    ScopedEventLoopEnv scoped("kqueue");  // not a value the flag takes
    absl::StatusOr<std::unique_ptr<EventLoop>> loop =
        MakeEventLoop(EventLoopKind::kAuto);
    ASSERT_FALSE(loop.ok());
    EXPECT_EQ(ErrnoOf(loop.status()), EINVAL);
    EXPECT_NE(loop.status().message().find("SYSV_EVENT_LOOP"),
              absl::string_view::npos)
        << loop.status();
  }
}

}  // namespace
}  // namespace sysv::dragonfly_backend
