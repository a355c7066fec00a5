// Linux's own part of region files: ReopenReadOnly() through /proc. The
// POSIX part is tested in backends/common/posix_region_file_test.cc.
#include "backends/linux/region_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "backends/common/unique_fd.h"
#include "core/ipc/errno_status.h"
#include "gtest/gtest.h"

namespace sysv::linux_backend {
namespace {

using ::sysv::backend::UniqueFd;
using ::sysv::core::ErrnoOf;

constexpr uint64_t kSize = 3 * 4096 + 100;  // not a page multiple on purpose

class RegionFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string templ = absl::StrCat(base != nullptr ? base : "/tmp", "/regionXXXXXX");
    ASSERT_NE(mkdtemp(templ.data()), nullptr) << std::strerror(errno);
    dir_path_ = templ;
    dir_ = UniqueFd(open(dir_path_.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(dir_.valid());
  }

  std::string dir_path_;
  UniqueFd dir_;
};

TEST_F(RegionFileTest, MapReadWriteAndShareThroughAReadOnlyReopen) {
  absl::StatusOr<UniqueFd> fd = CreateRegionFile(dir_.get(), "shm.1", kSize);
  ASSERT_TRUE(fd.ok()) << fd.status();
  absl::StatusOr<MappedRegion> rw = MappedRegion::Map(fd->get(), kSize, true);
  ASSERT_TRUE(rw.ok()) << rw.status();
  EXPECT_TRUE(rw->writable());
  EXPECT_EQ(rw->size(), kSize);
  auto* bytes = static_cast<uint8_t*>(rw->data());
  EXPECT_EQ(bytes[0], 0);  // a new region is zeros
  EXPECT_EQ(bytes[kSize - 1], 0);
  std::memcpy(bytes, "region", 6);
  bytes[kSize - 1] = 0x5a;

  absl::StatusOr<UniqueFd> ro = ReopenReadOnly(fd->get());
  ASSERT_TRUE(ro.ok()) << ro.status();
  EXPECT_EQ(fcntl(ro->get(), F_GETFL) & O_ACCMODE, O_RDONLY);
  EXPECT_EQ(fcntl(ro->get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  EXPECT_EQ(FileSize(ro->get()).value(), kSize);
  absl::StatusOr<MappedRegion> reader = MappedRegion::Map(ro->get(), kSize, false);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_FALSE(reader->writable());
  const auto* seen = static_cast<const uint8_t*>(reader->data());
  EXPECT_EQ(std::memcmp(seen, "region", 6), 0);
  EXPECT_EQ(seen[kSize - 1], 0x5a);
  bytes[1] = 'E';  // shared, not copied
  EXPECT_EQ(seen[1], 'E');
}

// What a reader with read-only access gets must not let it write, by any
// route: no writable shared mapping, no mprotect upgrade, no write(), no
// ftruncate().
TEST_F(RegionFileTest, ReadOnlyReopenCannotWrite) {
  absl::StatusOr<UniqueFd> fd = CreateRegionFile(dir_.get(), "shm.1", kSize);
  ASSERT_TRUE(fd.ok()) << fd.status();
  absl::StatusOr<UniqueFd> ro = ReopenReadOnly(fd->get());
  ASSERT_TRUE(ro.ok()) << ro.status();

  void* writable = mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED,
                        ro->get(), 0);
  EXPECT_EQ(writable, MAP_FAILED);
  EXPECT_EQ(errno, EACCES);
  if (writable != MAP_FAILED) munmap(writable, kSize);

  absl::StatusOr<MappedRegion> through_api = MappedRegion::Map(ro->get(), kSize, true);
  ASSERT_FALSE(through_api.ok());
  EXPECT_EQ(ErrnoOf(through_api.status()), EACCES);

  absl::StatusOr<MappedRegion> reader = MappedRegion::Map(ro->get(), kSize, false);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_NE(mprotect(reader->data(), 4096, PROT_READ | PROT_WRITE), 0);
  EXPECT_EQ(errno, EACCES);

  EXPECT_EQ(write(ro->get(), "x", 1), -1);
  EXPECT_EQ(errno, EBADF);
  EXPECT_NE(ftruncate(ro->get(), 1), 0);
  EXPECT_EQ(FileSize(fd->get()).value(), kSize);
}

TEST_F(RegionFileTest, ReopenWorksAfterUnlink) {
  absl::StatusOr<UniqueFd> fd = CreateRegionFile(dir_.get(), "shm.1", kSize);
  ASSERT_TRUE(fd.ok()) << fd.status();
  ASSERT_TRUE(UnlinkRegionFile(dir_.get(), "shm.1").ok());
  EXPECT_EQ(ErrnoOf(OpenRegionFile(dir_.get(), "shm.1", true).status()), ENOENT);
  EXPECT_EQ(ErrnoOf(UnlinkRegionFile(dir_.get(), "shm.1")), ENOENT);
  absl::StatusOr<UniqueFd> ro = ReopenReadOnly(fd->get());
  ASSERT_TRUE(ro.ok()) << ro.status();
  EXPECT_EQ(FileSize(ro->get()).value(), kSize);
}

TEST_F(RegionFileTest, OpenHonoursTheAccessMode) {
  ASSERT_TRUE(CreateRegionFile(dir_.get(), "shm.1", kSize).ok());
  absl::StatusOr<UniqueFd> rw = OpenRegionFile(dir_.get(), "shm.1", true);
  ASSERT_TRUE(rw.ok()) << rw.status();
  EXPECT_EQ(fcntl(rw->get(), F_GETFL) & O_ACCMODE, O_RDWR);
  absl::StatusOr<UniqueFd> ro = OpenRegionFile(dir_.get(), "shm.1", false);
  ASSERT_TRUE(ro.ok()) << ro.status();
  EXPECT_EQ(fcntl(ro->get(), F_GETFL) & O_ACCMODE, O_RDONLY);
  EXPECT_EQ(fcntl(ro->get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
}

}  // namespace
}  // namespace sysv::linux_backend
