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

TEST_F(RegionFileTest, CreatesAFileOfTheSizeAndModeAsked) {
  const mode_t old_umask = umask(077);
  absl::StatusOr<UniqueFd> fd = CreateRegionFile(dir_.get(), "shm.1", kSize, 0640);
  umask(old_umask);
  ASSERT_TRUE(fd.ok()) << fd.status();
  EXPECT_EQ(FileSize(fd->get()).value(), kSize);
  struct stat st;
  ASSERT_EQ(fstat(fd->get(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(fcntl(fd->get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  EXPECT_EQ(fcntl(fd->get(), F_GETFL) & O_ACCMODE, O_RDWR);

  absl::StatusOr<UniqueFd> defaulted = CreateRegionFile(dir_.get(), "shm.2", 1);
  ASSERT_TRUE(defaulted.ok()) << defaulted.status();
  ASSERT_EQ(fstat(defaulted->get(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(RegionFileTest, NeverReusesAnExistingName) {
  ASSERT_TRUE(CreateRegionFile(dir_.get(), "shm.1", kSize).ok());
  absl::StatusOr<UniqueFd> again = CreateRegionFile(dir_.get(), "shm.1", 10);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(ErrnoOf(again.status()), EEXIST);
  absl::StatusOr<UniqueFd> fd = OpenRegionFile(dir_.get(), "shm.1", false);
  ASSERT_TRUE(fd.ok());
  EXPECT_EQ(FileSize(fd->get()).value(), kSize);  // not truncated
}

TEST_F(RegionFileTest, RejectsNamesOutsideTheDirectory) {
  for (const char* name : {"", ".", "..", "a/b", "../escape", "/etc/passwd"}) {
    EXPECT_EQ(ErrnoOf(CreateRegionFile(dir_.get(), name, 1).status()), EINVAL)
        << name;
    EXPECT_EQ(ErrnoOf(OpenRegionFile(dir_.get(), name, false).status()), EINVAL)
        << name;
    EXPECT_EQ(ErrnoOf(UnlinkRegionFile(dir_.get(), name)), EINVAL) << name;
  }
  EXPECT_EQ(ErrnoOf(CreateRegionFile(dir_.get(), std::string("a\0b", 3), 1)
                        .status()),
            EINVAL);
}

TEST_F(RegionFileTest, DoesNotFollowSymlinks) {
  ASSERT_EQ(symlinkat("/etc/hostname", dir_.get(), "link"), 0);
  EXPECT_EQ(ErrnoOf(OpenRegionFile(dir_.get(), "link", false).status()), ELOOP);
  EXPECT_EQ(ErrnoOf(CreateRegionFile(dir_.get(), "link", 1).status()), EEXIST);
}

TEST_F(RegionFileTest, TooLargeIsEfbig) {
  absl::StatusOr<UniqueFd> fd =
      CreateRegionFile(dir_.get(), "huge", uint64_t{1} << 63);
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(ErrnoOf(fd.status()), EFBIG) << fd.status();
  EXPECT_EQ(ErrnoOf(OpenRegionFile(dir_.get(), "huge", false).status()), ENOENT);
  // The largest off_t passes that check; ext4 (16 TiB) then refuses it in
  // ftruncate and the half-made file must be gone, while tmpfs allows it.
  fd = CreateRegionFile(dir_.get(), "huge", (uint64_t{1} << 63) - 1);
  if (!fd.ok()) {
    EXPECT_EQ(ErrnoOf(fd.status()), EFBIG) << fd.status();
    EXPECT_EQ(ErrnoOf(OpenRegionFile(dir_.get(), "huge", false).status()),
              ENOENT);
  }
}

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

TEST_F(RegionFileTest, MapChecksSizes) {
  absl::StatusOr<UniqueFd> fd = CreateRegionFile(dir_.get(), "shm.1", kSize);
  ASSERT_TRUE(fd.ok()) << fd.status();
  EXPECT_EQ(ErrnoOf(MappedRegion::Map(fd->get(), 0, true).status()), EINVAL);
  EXPECT_EQ(ErrnoOf(MappedRegion::Map(fd->get(), kSize + 1, true).status()),
            EINVAL);
  EXPECT_EQ(ErrnoOf(MappedRegion::Map(-1, 10, true).status()), EBADF);
  EXPECT_EQ(ErrnoOf(ReopenReadOnly(-1).status()), EBADF);
  EXPECT_EQ(ErrnoOf(FileSize(-1).status()), EBADF);
}

TEST_F(RegionFileTest, MappedRegionMovesAndUnmaps) {
  absl::StatusOr<UniqueFd> fd = CreateRegionFile(dir_.get(), "shm.1", 4096);
  ASSERT_TRUE(fd.ok()) << fd.status();
  absl::StatusOr<MappedRegion> mapped = MappedRegion::Map(fd->get(), 4096, true);
  ASSERT_TRUE(mapped.ok());
  void* const data = mapped->data();
  MappedRegion moved = std::move(*mapped);
  EXPECT_EQ(moved.data(), data);
  EXPECT_EQ(mapped->data(), nullptr);  // NOLINT(bugprone-use-after-move)
  MappedRegion other;
  other = std::move(moved);
  EXPECT_EQ(other.data(), data);
  other = MappedRegion();
  EXPECT_EQ(other.data(), nullptr);
  // The range is unmapped: msync on it fails with ENOMEM.
  EXPECT_NE(msync(data, 4096, MS_ASYNC), 0);
  EXPECT_EQ(errno, ENOMEM);
}

}  // namespace
}  // namespace sysv::linux_backend
