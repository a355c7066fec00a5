#include "backends/common/posix_region_file.h"

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

namespace sysv::backend {
namespace {

using ::sysv::core::ErrnoOf;

constexpr uint64_t kSize = 3 * 4096 + 100;  // not a page multiple on purpose

class PosixRegionFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string templ = absl::StrCat(base != nullptr ? base : "/tmp", "/regionXXXXXX");
    ASSERT_NE(mkdtemp(templ.data()), nullptr) << std::strerror(errno);
    dir_ = UniqueFd(open(templ.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(dir_.valid());
  }

  UniqueFd dir_;
};

TEST_F(PosixRegionFileTest, CreatesAFileOfTheSizeAndModeAsked) {
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

TEST_F(PosixRegionFileTest, NeverReusesAnExistingName) {
  ASSERT_TRUE(CreateRegionFile(dir_.get(), "shm.1", kSize).ok());
  EXPECT_EQ(ErrnoOf(CreateRegionFile(dir_.get(), "shm.1", 10).status()), EEXIST);
  absl::StatusOr<UniqueFd> fd = OpenRegionFile(dir_.get(), "shm.1", false);
  ASSERT_TRUE(fd.ok());
  EXPECT_EQ(FileSize(fd->get()).value(), kSize);  // not truncated
}

TEST_F(PosixRegionFileTest, RejectsNamesOutsideTheDirectory) {
  for (const char* name : {"", ".", "..", "a/b", "../escape", "/etc/passwd"}) {
    EXPECT_EQ(ErrnoOf(CreateRegionFile(dir_.get(), name, 1).status()), EINVAL)
        << name;
    EXPECT_EQ(ErrnoOf(OpenRegionFile(dir_.get(), name, false).status()), EINVAL)
        << name;
    EXPECT_EQ(ErrnoOf(UnlinkRegionFile(dir_.get(), name)), EINVAL) << name;
  }
}

TEST_F(PosixRegionFileTest, DoesNotFollowSymlinks) {
  ASSERT_EQ(symlinkat("/etc/hostname", dir_.get(), "link"), 0);
  EXPECT_EQ(ErrnoOf(OpenRegionFile(dir_.get(), "link", false).status()), ELOOP);
  EXPECT_EQ(ErrnoOf(CreateRegionFile(dir_.get(), "link", 1).status()), EEXIST);
}

TEST_F(PosixRegionFileTest, TooLargeIsEfbig) {
  EXPECT_EQ(ErrnoOf(CreateRegionFile(dir_.get(), "huge", uint64_t{1} << 63).status()),
            EFBIG);
  EXPECT_EQ(ErrnoOf(OpenRegionFile(dir_.get(), "huge", false).status()), ENOENT);
}

TEST_F(PosixRegionFileTest, ReadOnlyReopenSharesButCannotWrite) {
  absl::StatusOr<UniqueFd> fd = CreateRegionFile(dir_.get(), "shm.1", kSize);
  ASSERT_TRUE(fd.ok()) << fd.status();
  absl::StatusOr<MappedRegion> rw = MappedRegion::Map(fd->get(), kSize, true);
  ASSERT_TRUE(rw.ok()) << rw.status();
  auto* bytes = static_cast<uint8_t*>(rw->data());
  std::memcpy(bytes, "region", 6);

  absl::StatusOr<UniqueFd> ro = ReopenReadOnlyAt(dir_.get(), "shm.1", fd->get());
  ASSERT_TRUE(ro.ok()) << ro.status();
  EXPECT_EQ(fcntl(ro->get(), F_GETFL) & O_ACCMODE, O_RDONLY);
  EXPECT_EQ(fcntl(ro->get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  absl::StatusOr<MappedRegion> reader = MappedRegion::Map(ro->get(), kSize, false);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_FALSE(reader->writable());
  const auto* seen = static_cast<const uint8_t*>(reader->data());
  EXPECT_EQ(std::memcmp(seen, "region", 6), 0);
  bytes[1] = 'E';  // shared, not copied
  EXPECT_EQ(seen[1], 'E');

  void* writable = mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED,
                        ro->get(), 0);
  EXPECT_EQ(writable, MAP_FAILED);
  EXPECT_EQ(errno, EACCES);
  if (writable != MAP_FAILED) munmap(writable, kSize);
  EXPECT_EQ(ErrnoOf(MappedRegion::Map(ro->get(), kSize, true).status()), EACCES);
  EXPECT_NE(mprotect(reader->data(), 4096, PROT_READ | PROT_WRITE), 0);
  EXPECT_EQ(write(ro->get(), "x", 1), -1);
  EXPECT_NE(ftruncate(ro->get(), 1), 0);
  EXPECT_EQ(FileSize(fd->get()).value(), kSize);
}

TEST_F(PosixRegionFileTest, ReopenNeedsTheSameFileUnderTheName) {
  absl::StatusOr<UniqueFd> fd = CreateRegionFile(dir_.get(), "shm.1", kSize);
  ASSERT_TRUE(fd.ok()) << fd.status();
  ASSERT_TRUE(UnlinkRegionFile(dir_.get(), "shm.1").ok());
  EXPECT_EQ(ErrnoOf(ReopenReadOnlyAt(dir_.get(), "shm.1", fd->get()).status()),
            ENOENT);
  // Another file under the old name is not ours to hand out.
  ASSERT_TRUE(CreateRegionFile(dir_.get(), "shm.1", 1).ok());
  EXPECT_EQ(ErrnoOf(ReopenReadOnlyAt(dir_.get(), "shm.1", fd->get()).status()),
            ESTALE);
  EXPECT_EQ(ErrnoOf(ReopenReadOnlyAt(dir_.get(), "shm.1", -1).status()), EBADF);
}

TEST_F(PosixRegionFileTest, MapChecksSizes) {
  absl::StatusOr<UniqueFd> fd = CreateRegionFile(dir_.get(), "shm.1", kSize);
  ASSERT_TRUE(fd.ok()) << fd.status();
  EXPECT_EQ(ErrnoOf(MappedRegion::Map(fd->get(), 0, true).status()), EINVAL);
  EXPECT_EQ(ErrnoOf(MappedRegion::Map(fd->get(), kSize + 1, true).status()),
            EINVAL);
  EXPECT_EQ(ErrnoOf(MappedRegion::Map(-1, 10, true).status()), EBADF);
  EXPECT_EQ(ErrnoOf(FileSize(-1).status()), EBADF);
}

TEST_F(PosixRegionFileTest, MappedRegionMovesAndUnmaps) {
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
  EXPECT_NE(msync(data, 4096, MS_ASYNC), 0);  // unmapped
  EXPECT_EQ(errno, ENOMEM);
}

}  // namespace
}  // namespace sysv::backend
