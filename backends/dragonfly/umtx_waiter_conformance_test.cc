// The waiter conformance suite for UmtxWaiter, instantiated as `Umtx`. The
// same file runs on Linux against the futex double (umtx_waiter_test, with
// the double's fault injection on, as by default) and on DragonFly against
// the real umtx_sleep/umtx_wakeup (umtx_waiter_dragonfly_test, which can
// only run there).
#include <atomic>
#include <cstdint>
#include <cstdio>

#include "backends/dragonfly/umtx_waiter.h"
#include "core/deadline.h"
#include "core/testing/waiter_conformance.h"
#include "core/waiter.h"
#include "gtest/gtest.h"

// gtest requires the instantiation in the suite's namespace.
namespace sysv::core::testing {
INSTANTIATE_TYPED_TEST_SUITE_P(Umtx, WaiterConformanceTest,
                               ::sysv::dragonfly_backend::UmtxWaiter);
}  // namespace sysv::core::testing

namespace sysv::dragonfly_backend {
namespace {

using ::sysv::core::Deadline;
using ::sysv::core::WaitResult;

TEST(UmtxWaiterConformanceTest, PrintsName) {
  std::printf("UmtxWaiter::kName = %s\n", UmtxWaiter::kName);
  EXPECT_STREQ(UmtxWaiter::kName, "umtx");
}

TEST(UmtxWaiterConformanceTest, WorksThroughWaiterOps) {
  constexpr sysv::core::WaiterOps ops = sysv::core::WaiterOpsFor<UmtxWaiter>();
  std::atomic<uint32_t> word{1};
  EXPECT_EQ(ops.wait(&word, 0, Deadline::Infinite()), WaitResult::kWoken);
  ops.wake(&word, 1);
  EXPECT_STREQ(ops.name, "umtx");
}

}  // namespace
}  // namespace sysv::dragonfly_backend
