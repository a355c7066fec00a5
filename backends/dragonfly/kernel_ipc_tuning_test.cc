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

// getloadavg(3) reports all three.
TEST(KernelIpcTuningTest, LoadAveragesAreReported) { EXPECT_TRUE(LoadAverages().ok()); }

}  // namespace
}  // namespace sysv::dragonfly_backend
