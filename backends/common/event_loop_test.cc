#include "backends/common/event_loop.h"

#include <cerrno>

#include "absl/status/statusor.h"
#include "core/ipc/errno_status.h"
#include "gtest/gtest.h"

namespace sysv::backend {
namespace {

TEST(ParseEventLoopKindTest, AcceptsTheThreeNames) {
  EXPECT_EQ(ParseEventLoopKind("auto").value(), EventLoopKind::kAuto);
  EXPECT_EQ(ParseEventLoopKind("io_uring").value(), EventLoopKind::kIoUring);
  EXPECT_EQ(ParseEventLoopKind("epoll").value(), EventLoopKind::kEpoll);
}

TEST(ParseEventLoopKindTest, RejectsAnythingElseWithEinval) {
  for (const char* text : {"", "Auto", "EPOLL", "iouring", "io-uring",
                           "kqueue", "epoll "}) {
    absl::StatusOr<EventLoopKind> kind = ParseEventLoopKind(text);
    ASSERT_FALSE(kind.ok()) << '"' << text << '"';
    EXPECT_EQ(sysv::core::ErrnoOf(kind.status()), EINVAL);
  }
}

TEST(ParseEventLoopKindTest, NamesRoundTrip) {
  for (EventLoopKind kind : {EventLoopKind::kAuto, EventLoopKind::kIoUring,
                             EventLoopKind::kEpoll}) {
    EXPECT_EQ(ParseEventLoopKind(EventLoopKindName(kind)).value(), kind);
  }
}

}  // namespace
}  // namespace sysv::backend
