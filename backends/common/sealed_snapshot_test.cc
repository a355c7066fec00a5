// ReadOnlySnapshot: the bytes are there, and the descriptor cannot change
// them (DragonFly's SealedSnapshot; POSIX, so tested here).
#include "backends/common/sealed_snapshot.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "gtest/gtest.h"

namespace sysv::backend {
namespace {

TEST(ReadOnlySnapshotTest, HoldsTheBytesAndRefusesWrites) {
  std::vector<unsigned char> bytes(70000);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>(i * 7);
  absl::StatusOr<UniqueFd> fd = ReadOnlySnapshot("sysvipc-test", bytes);
  ASSERT_TRUE(fd.ok()) << fd.status();
  struct stat st;
  ASSERT_EQ(fstat(fd->get(), &st), 0);
  EXPECT_EQ(static_cast<size_t>(st.st_size), bytes.size());
  std::vector<unsigned char> read_back(bytes.size());
  ASSERT_EQ(pread(fd->get(), read_back.data(), read_back.size(), 0), static_cast<ssize_t>(bytes.size()));
  EXPECT_EQ(read_back, bytes);
  EXPECT_EQ(fcntl(fd->get(), F_GETFL) & O_ACCMODE, O_RDONLY);
  EXPECT_EQ(write(fd->get(), "x", 1), -1);
  EXPECT_EQ(errno, EBADF);
  EXPECT_NE(ftruncate(fd->get(), 1), 0);
  EXPECT_EQ(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd->get(), 0), MAP_FAILED);
  EXPECT_EQ(errno, EACCES);
}

TEST(ReadOnlySnapshotTest, EmptyIsAnEmptyFile) {
  absl::StatusOr<UniqueFd> fd = ReadOnlySnapshot("sysvipc-test", {});
  ASSERT_TRUE(fd.ok()) << fd.status();
  struct stat st;
  ASSERT_EQ(fstat(fd->get(), &st), 0);
  EXPECT_EQ(st.st_size, 0);
}

}  // namespace
}  // namespace sysv::backend
