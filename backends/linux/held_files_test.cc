#include "backends/linux/held_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "core/ipc/errno_status.h"
#include "gtest/gtest.h"

namespace sysv::linux_backend {
namespace {

// A file of this test's, opened as asked; its device and inode.
struct TempFile {
  explicit TempFile(int flags) {
    std::string path = std::string(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp") + "/heldXXXXXX";
    const int made = mkstemp(path.data());
    struct stat st {};
    fstat(made, &st);
    device = st.st_dev;
    inode = st.st_ino;
    fd = open(path.c_str(), flags | O_CLOEXEC);
    close(made);
    unlink(path.c_str());
  }
  ~TempFile() { close(fd); }
  int fd = -1;
  uint64_t device = 0;
  uint64_t inode = 0;
};

const HeldFile* Find(const std::vector<HeldFile>& files, const TempFile& file) {
  for (const HeldFile& held : files) {
    if (held.device == file.device && held.inode == file.inode) return &held;
  }
  return nullptr;
}

TEST(ProcessHeldFilesTest, ListsOurFilesWithTheirAccess) {
  TempFile read_only(O_RDONLY);
  TempFile read_write(O_RDWR);
  absl::StatusOr<std::vector<HeldFile>> files = ProcessHeldFiles(getpid(), 1 << 16);
  ASSERT_TRUE(files.ok()) << files.status();
  const HeldFile* ro = Find(*files, read_only);
  const HeldFile* rw = Find(*files, read_write);
  ASSERT_NE(ro, nullptr);
  ASSERT_NE(rw, nullptr);
  EXPECT_FALSE(ro->writable);
  EXPECT_TRUE(rw->writable);
}

TEST(ProcessHeldFilesTest, StopsAtTheLimit) {
  TempFile one(O_RDONLY);
  absl::StatusOr<std::vector<HeldFile>> files = ProcessHeldFiles(getpid(), 1);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(files->size(), 1u);
}

TEST(ProcessHeldFilesTest, NoSuchProcessIsEsrch) {
  EXPECT_EQ(core::ErrnoOf(ProcessHeldFiles(0x3fffffff, 10).status()), ESRCH);
  EXPECT_EQ(core::ErrnoOf(ProcessHeldFiles(0, 10).status()), EINVAL);
}

}  // namespace
}  // namespace sysv::linux_backend
