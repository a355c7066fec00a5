// The event loop conformance suite for KqueueLoop, instantiated as
// `Kqueue`. The same file runs on Linux against the epoll double
// (kqueue_loop_test) and on DragonFly against the real kevent(2)
// (kqueue_loop_dragonfly_test, which can only run there).
#include <cstdio>

#include "backends/common/testing/event_loop_conformance.h"
#include "backends/dragonfly/kqueue_loop.h"
#include "gtest/gtest.h"

// gtest wants the instantiation in the suite's namespace.
namespace sysv::backend::testing {
INSTANTIATE_TYPED_TEST_SUITE_P(Kqueue, EventLoopConformanceTest,
                               ::sysv::dragonfly_backend::KqueueLoop);
}  // namespace sysv::backend::testing

namespace sysv::dragonfly_backend {
namespace {

TEST(KqueueLoopConformanceTest, PrintsName) {
  std::printf("KqueueLoop::kName = %s\n", KqueueLoop::kName);
  EXPECT_STREQ(KqueueLoop::kName, "kqueue");
}

}  // namespace
}  // namespace sysv::dragonfly_backend
