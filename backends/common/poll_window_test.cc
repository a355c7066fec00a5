#include "backends/common/poll_window.h"

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace sysv::backend {
namespace {

TEST(PollWindowTest, OffNeverLooks) {
  PollWindow window;
  int looks = 0;
  EXPECT_FALSE(window.Await([&] { return ++looks, true; }));
  EXPECT_EQ(looks, 0);
  window.set_length(absl::ZeroDuration());
  EXPECT_FALSE(window.enabled());
  EXPECT_FALSE(window.Await([&] { return ++looks, true; }));
  EXPECT_EQ(looks, 0);
}

TEST(PollWindowTest, ReturnsAtTheFirstLookThatFindsWork) {
  // Long enough that the test never reaches its end.
  PollWindow window(absl::Seconds(30));
  int looks = 0;
  EXPECT_TRUE(window.Await([&] { return ++looks == 1; }));
  EXPECT_EQ(looks, 1);
  looks = 0;
  EXPECT_TRUE(window.Await([&] { return ++looks == 5000; }));
  EXPECT_EQ(looks, 5000);
}

TEST(PollWindowTest, AMissEndsAfterTheWindowAndHalvesTheNext) {
  PollWindow window(absl::Milliseconds(8));
  int looks = 0;
  const absl::Time start = absl::Now();
  EXPECT_FALSE(window.Await([&] { return ++looks, false; }));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(8));
  EXPECT_GT(looks, 1);
  EXPECT_EQ(window.current(), absl::Milliseconds(4));
  EXPECT_FALSE(window.Await([] { return false; }));
  EXPECT_EQ(window.current(), absl::Milliseconds(2));
  EXPECT_EQ(window.length(), absl::Milliseconds(8));
}

TEST(PollWindowTest, MissesShrinkItToASixteenthAndAHitRestoresIt) {
  PollWindow window(absl::Milliseconds(1));
  for (int i = 0; i < 8; ++i) EXPECT_FALSE(window.Await([] { return false; }));
  EXPECT_EQ(window.current(), absl::Microseconds(1000) / 16);
  EXPECT_TRUE(window.enabled());
  EXPECT_TRUE(window.Await([] { return true; }));
  EXPECT_EQ(window.current(), absl::Milliseconds(1));
}

}  // namespace
}  // namespace sysv::backend
