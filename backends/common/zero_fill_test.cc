#include "backends/common/zero_fill.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gtest/gtest.h"

namespace sysv::backend {
namespace {

TEST(ZeroFillTest, AllocatesASparseFileAndKeepsItsSize) {
  char path[] = "/tmp/zero_fill_testXXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  unlink(path);
  constexpr off_t kSize = 300 * 1024 + 7;
  ASSERT_EQ(ftruncate(fd, kSize), 0);
  struct stat before;
  ASSERT_EQ(fstat(fd, &before), 0);
  errno = 1234;
  EXPECT_EQ(ZeroFill(fd, kSize), 0);
  EXPECT_EQ(errno, 1234) << "errno is kept";
  struct stat after;
  ASSERT_EQ(fstat(fd, &after), 0);
  EXPECT_EQ(after.st_size, kSize);
  EXPECT_GE(after.st_blocks * 512, kSize) << "blocks are allocated";
  char byte = 1;
  ASSERT_EQ(pread(fd, &byte, 1, kSize - 1), 1);
  EXPECT_EQ(byte, 0);
  close(fd);
}

// A grow allocates only what it adds: the data before `from` (a ledger's
// header and entries) stays. Filling from 0 zeroed a grown attach ledger on
// DragonFly, and the restarted daemon found "a bad header".
TEST(ZeroFillTest, FillsOnlyFromWhereTheGrowStarts) {
  char path[] = "/tmp/zero_fill_testXXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  unlink(path);
  const char data[] = "header and entries";
  ASSERT_EQ(pwrite(fd, data, sizeof(data), 0), static_cast<ssize_t>(sizeof(data)));
  EXPECT_EQ(ZeroFill(fd, 12288, 4096), 0);
  struct stat after;
  ASSERT_EQ(fstat(fd, &after), 0);
  EXPECT_EQ(after.st_size, 12288);
  char back[sizeof(data)] = {};
  ASSERT_EQ(pread(fd, back, sizeof(back), 0), static_cast<ssize_t>(sizeof(back)));
  EXPECT_STREQ(back, data);
  close(fd);
}

TEST(ZeroFillTest, ReportsTheErrno) {
  EXPECT_EQ(ZeroFill(-1, 10), EBADF);
}

}  // namespace
}  // namespace sysv::backend
