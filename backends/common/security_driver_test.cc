// The daemon's driver client where no driver is loaded (this machine's
// kernel cannot load modules; tests/driver runs it against the real module
// in a QEMU guest): mode parsing, the auto fallback, and refusing a device
// that does not speak the ABI.
#include "backends/common/security_driver.h"

#include <unistd.h>

#include <cerrno>
#include <string>

#include "core/ipc/errno_status.h"
#include "gtest/gtest.h"

namespace sysv::backend {
namespace {

TEST(ParseDriverModeTest, AcceptsTheThreeModes) {
  EXPECT_EQ(*ParseDriverMode("auto"), DriverMode::kAuto);
  EXPECT_EQ(*ParseDriverMode("on"), DriverMode::kOn);
  EXPECT_EQ(*ParseDriverMode("off"), DriverMode::kOff);
  EXPECT_EQ(core::ErrnoOf(ParseDriverMode("yes").status()), EINVAL);
  EXPECT_EQ(core::ErrnoOf(ParseDriverMode("").status()), EINVAL);
}

TEST(SecurityDriverTest, OffNeverOpensTheDevice) {
  std::string why;
  absl::StatusOr<std::unique_ptr<SecurityDriver>> driver = OpenSecurityDriverFor(DriverMode::kOff, &why);
  ASSERT_TRUE(driver.ok());
  EXPECT_EQ(*driver, nullptr);
  EXPECT_EQ(why, "--driver=off");
}

TEST(SecurityDriverTest, AutoFallsBackAndOnFailsWithoutTheDevice) {
  if (access("/dev/sysvipc", F_OK) == 0) GTEST_SKIP() << "/dev/sysvipc exists here";
  std::string why;
  absl::StatusOr<std::unique_ptr<SecurityDriver>> automatic = OpenSecurityDriverFor(DriverMode::kAuto, &why);
  ASSERT_TRUE(automatic.ok());
  EXPECT_EQ(*automatic, nullptr);
  EXPECT_NE(why.find("/dev/sysvipc"), std::string::npos) << why;
  absl::StatusOr<std::unique_ptr<SecurityDriver>> on = OpenSecurityDriverFor(DriverMode::kOn, &why);
  EXPECT_EQ(core::ErrnoOf(on.status()), ENOENT) << on.status();
}

TEST(SecurityDriverTest, ADeviceThatIsNotTheDriverIsRefused) {
  // /dev/null answers the version ioctl with ENOTTY.
  absl::StatusOr<std::unique_ptr<SecurityDriver>> driver = SecurityDriver::Open("/dev/null");
  EXPECT_EQ(core::ErrnoOf(driver.status()), ENOTTY) << driver.status();
}

}  // namespace
}  // namespace sysv::backend
