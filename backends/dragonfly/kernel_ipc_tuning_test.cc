#include "backends/dragonfly/kernel_ipc_tuning.h"

#include <cerrno>

#include "core/ipc/errno_status.h"
#include "gtest/gtest.h"

namespace sysv::dragonfly_backend {
namespace {

// DragonFly's kern.ipc limits are boot-time tunables: every setter says
// EPERM, as sysctl(3) says for a read-only oid, and sets nothing.
TEST(KernelIpcTuningTest, LimitsAreBootTimeTunables) {
  EXPECT_EQ(core::ErrnoOf(SetKernelShmmni(1234)), EPERM);
  EXPECT_EQ(core::ErrnoOf(SetKernelSemmni(77)), EPERM);
  EXPECT_EQ(core::ErrnoOf(SetKernelMsgmni(55)), EPERM);
}

TEST(KernelIpcTuningTest, LoadAveragesAreThree) {
  absl::StatusOr<std::array<double, 3>> loads = LoadAverages();
  ASSERT_TRUE(loads.ok()) << loads.status();
  for (double load : *loads) EXPECT_GE(load, 0.0);
}

}  // namespace
}  // namespace sysv::dragonfly_backend
