// KqueueLoop on Linux, against the epoll double of kqueue_sys.h: what is
// particular to this loop. The conformance suite is in
// kqueue_loop_conformance_test.cc, linked into the same test binary.
#include "backends/dragonfly/kqueue_loop.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backends/common/testing/event_loop_conformance.h"  // Pipe and helpers
#include "backends/common/unique_fd.h"
#include "backends/dragonfly/kqueue_sys_linux_double.h"
#include "core/ipc/errno_status.h"
#include "gtest/gtest.h"

namespace sysv::dragonfly_backend {
namespace {

using ::sysv::backend::UniqueFd;
using ::sysv::backend::testing::event_loop_conformance_internal::Pipe;
using ::sysv::backend::testing::event_loop_conformance_internal::ReadByte;
using ::sysv::backend::testing::event_loop_conformance_internal::WriteBytes;
using ::sysv::core::ErrnoOf;

std::unique_ptr<KqueueLoop> MakeLoop() {
  absl::StatusOr<std::unique_ptr<KqueueLoop>> loop = KqueueLoop::Create();
  EXPECT_TRUE(loop.ok()) << loop.status();
  return loop.ok() ? *std::move(loop) : nullptr;
}

// kqueue would accept a regular file and report it readable at every call;
// the loop refuses it as epoll does.
TEST(KqueueLoopTest, RefusesRegularFilesAndDirectories) {
  std::unique_ptr<KqueueLoop> loop = MakeLoop();
  ASSERT_NE(loop, nullptr);
  UniqueFd file(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(file.valid());
  EXPECT_EQ(ErrnoOf(loop->Watch(file.get(), [] {})), EPERM);
  UniqueFd dir(open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(dir.valid());
  EXPECT_EQ(ErrnoOf(loop->Watch(dir.get(), [] {})), EPERM);
  // Neither was registered, so a later Watch of the same number works.
  const int number = file.get();
  file.reset();
  Pipe pipe = Pipe::Make();
  ASSERT_EQ(dup2(pipe.read.get(), number), number);
  UniqueFd reused(number);
  EXPECT_TRUE(loop->Watch(number, [] {}).ok());
  loop->Unwatch(number);
}

// A signal that interrupts kevent() is not an error of the loop.
TEST(KqueueLoopTest, RunRetriesInterruptedWaits) {
  std::unique_ptr<KqueueLoop> loop = MakeLoop();
  ASSERT_NE(loop, nullptr);
  Pipe pipe = Pipe::Make();
  WriteBytes(pipe.write.get(), 1);
  int calls = 0;
  ASSERT_TRUE(loop->Watch(pipe.read.get(), [&] {
                    ++calls;
                    EXPECT_EQ(ReadByte(pipe.read.get()), 1);
                    loop->Stop();
                  }).ok());
  testing::InjectKeventInterruptions(3);
  EXPECT_TRUE(loop->Run().ok());
  EXPECT_EQ(calls, 1);
  loop->Unwatch(pipe.read.get());
}

// Unwatch() after close() (the contract says not to, but a daemon bug must
// not break the loop): the knote went with the descriptor, and the loop
// still works.
TEST(KqueueLoopTest, UnwatchAfterCloseIsHarmless) {
  std::unique_ptr<KqueueLoop> loop = MakeLoop();
  ASSERT_NE(loop, nullptr);
  Pipe closed = Pipe::Make();
  const int fd = closed.read.get();
  ASSERT_TRUE(loop->Watch(fd, [] {}).ok());
  closed.read.reset();
  loop->Unwatch(fd);
  Pipe live = Pipe::Make();
  WriteBytes(live.write.get(), 1);
  int calls = 0;
  ASSERT_TRUE(loop->Watch(live.read.get(), [&] {
                    ++calls;
                    loop->Stop();
                  }).ok());
  EXPECT_TRUE(loop->Run().ok());
  EXPECT_EQ(calls, 1);
  loop->Unwatch(live.read.get());
}

}  // namespace
}  // namespace sysv::dragonfly_backend
