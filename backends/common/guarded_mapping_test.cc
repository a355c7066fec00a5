// The fault guard (backends/common/guarded_mapping.h): a guarded mapping of
// a file truncated under it turns into zeros and says so; an unguarded one
// still faults, so the guard hides nothing else.
#include "backends/common/guarded_mapping.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "backends/common/posix_region_file.h"
#include "backends/common/unique_fd.h"
#include "gtest/gtest.h"

namespace sysv::backend {
namespace {

constexpr size_t kSize = 3 * 4096;

// How a fault the guard does not absorb ends: SIGBUS by default, or
// SIGABRT where a sanitizer's handler was there before ours (it reports,
// then aborts): either way the handler before ours decided.
bool DiedOfTheFault(int status) {
  return WIFSIGNALED(status) && (WTERMSIG(status) == SIGBUS || WTERMSIG(status) == SIGABRT);
}

class GuardedMappingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string templ = absl::StrCat(base != nullptr ? base : "/tmp", "/guardXXXXXX");
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    path_ = templ;
    dir_ = UniqueFd(open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(dir_);
  }

  // A fresh file of kSize bytes filled with 0x5a, open read-write.
  UniqueFd MakeFile(const std::string& name) {
    absl::StatusOr<UniqueFd> fd = CreateRegionFile(dir_.get(), name, kSize);
    EXPECT_TRUE(fd.ok()) << fd.status();
    std::string bytes(kSize, '\x5a');
    EXPECT_EQ(pwrite(fd->get(), bytes.data(), bytes.size(), 0), static_cast<ssize_t>(kSize));
    return *std::move(fd);
  }

  std::string path_;
  UniqueFd dir_;
};

TEST_F(GuardedMappingTest, TouchPastATruncatedEndReadsZerosAndIsFlagged) {
  UniqueFd fd = MakeFile("a");
  absl::StatusOr<MappedRegion> region = MappedRegion::Map(fd.get(), kSize, true);
  ASSERT_TRUE(region.ok()) << region.status();
  absl::StatusOr<GuardedMapping> guarded = GuardedMapping::Guard(*std::move(region));
  ASSERT_TRUE(guarded.ok()) << guarded.status();
  auto* bytes = static_cast<volatile unsigned char*>(guarded->data());
  EXPECT_EQ(bytes[kSize - 1], 0x5a);
  EXPECT_FALSE(guarded->faulted());
  ASSERT_EQ(ftruncate(fd.get(), 4096), 0);
  // The last page is past the end now: without the guard, SIGBUS.
  EXPECT_EQ(bytes[kSize - 1], 0);
  EXPECT_TRUE(guarded->faulted());
  // The whole mapping was replaced, the page still in the file included,
  // and writes stay private: the file does not change.
  EXPECT_EQ(bytes[0], 0);
  bytes[0] = 1;
  unsigned char first = 0;
  ASSERT_EQ(pread(fd.get(), &first, 1, 0), 1);
  EXPECT_EQ(first, 0x5a);
}

TEST_F(GuardedMappingTest, OtherMappingsAreUntouched) {
  UniqueFd victim = MakeFile("victim");
  UniqueFd neighbour = MakeFile("neighbour");
  absl::StatusOr<GuardedMapping> a = GuardedMapping::Guard(*MappedRegion::Map(victim.get(), kSize, true));
  absl::StatusOr<GuardedMapping> b = GuardedMapping::Guard(*MappedRegion::Map(neighbour.get(), kSize, true));
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(ftruncate(victim.get(), 0), 0);
  EXPECT_EQ(static_cast<volatile unsigned char*>(a->data())[0], 0);
  EXPECT_TRUE(a->faulted());
  EXPECT_FALSE(b->faulted());
  EXPECT_EQ(static_cast<volatile unsigned char*>(b->data())[0], 0x5a);
}

TEST_F(GuardedMappingTest, ReleasedSlotsAreReusedAndStartClean) {
  UniqueFd fd = MakeFile("reuse");
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(ftruncate(fd.get(), kSize), 0);
    absl::StatusOr<GuardedMapping> guarded = GuardedMapping::Guard(*MappedRegion::Map(fd.get(), kSize, true));
    ASSERT_TRUE(guarded.ok());
    EXPECT_FALSE(guarded->faulted());
    ASSERT_EQ(ftruncate(fd.get(), 0), 0);
    (void)static_cast<volatile unsigned char*>(guarded->data())[0];
    EXPECT_TRUE(guarded->faulted());
  }
}

TEST_F(GuardedMappingTest, UnguardedMappingStillFaults) {
  UniqueFd fd = MakeFile("unguarded");
  // Install the guard first (a guarded mapping exists), then fault elsewhere.
  absl::StatusOr<GuardedMapping> guarded = GuardedMapping::Guard(*MappedRegion::Map(fd.get(), kSize, true));
  ASSERT_TRUE(guarded.ok());
  UniqueFd other = MakeFile("other");
  EXPECT_EXIT(
      {
        absl::StatusOr<MappedRegion> plain = MappedRegion::Map(other.get(), kSize, true);
        if (!plain.ok() || ftruncate(other.get(), 0) != 0) _exit(1);
        (void)static_cast<volatile unsigned char*>(plain->data())[0];
        _exit(0);
      },
      DiedOfTheFault, "");
}

// A SIGBUS another process sends is no fault of a guarded mapping: it does
// what it would do without the guard.
TEST_F(GuardedMappingTest, SentSignalIsNotAbsorbed) {
  UniqueFd fd = MakeFile("sent");
  absl::StatusOr<GuardedMapping> guarded = GuardedMapping::Guard(*MappedRegion::Map(fd.get(), kSize, true));
  ASSERT_TRUE(guarded.ok());
  EXPECT_EXIT(
      {
        kill(getpid(), SIGBUS);
        _exit(0);
      },
      DiedOfTheFault, "");
}

}  // namespace
}  // namespace sysv::backend
