#include "backends/linux/mapping_query.h"

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "core/ipc/errno_status.h"
#include "gtest/gtest.h"

namespace sysv::linux_backend {
namespace {

constexpr size_t kLength = 65536;

class MappingQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!query_.Available()) GTEST_SKIP() << "no PROCMAP_QUERY (Linux before 6.11)";
    fd_ = memfd_create("mapping-query-test", MFD_CLOEXEC);
    ASSERT_GE(fd_, 0);
    ASSERT_EQ(ftruncate(fd_, kLength), 0);
  }
  void TearDown() override {
    if (fd_ >= 0) close(fd_);
  }
  MappingQuery query_;
  int fd_ = -1;
};

TEST_F(MappingQueryTest, DescribesASharedFileMappingAndItsProtection) {
  void* p = mmap(nullptr, kLength, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  ASSERT_NE(p, MAP_FAILED);
  const uint64_t start = reinterpret_cast<uint64_t>(p);
  absl::StatusOr<FileIdentity> file = IdentifyFile(fd_);
  ASSERT_TRUE(file.ok());

  absl::StatusOr<MappingFacts> facts = query_.Find(start + 4096, false);
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_EQ(facts->start, start);
  EXPECT_EQ(facts->end, start + kLength);
  EXPECT_EQ(facts->offset, 0u);
  EXPECT_TRUE(facts->shared && facts->readable && facts->writable && !facts->executable);
  EXPECT_EQ(facts->file, *file);

  ASSERT_EQ(mprotect(p, kLength, PROT_NONE), 0);
  facts = query_.Find(start, false);
  ASSERT_TRUE(facts.ok());
  EXPECT_TRUE(facts->shared && !facts->readable && !facts->writable && !facts->executable);

  // Replaced by an anonymous mapping: another file (none).
  ASSERT_EQ(mmap(p, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), p);
  facts = query_.Find(start, false);
  ASSERT_TRUE(facts.ok());
  EXPECT_EQ(facts->end, start + 4096);
  EXPECT_FALSE(facts->shared);
  EXPECT_FALSE(facts->file == *file);

  // Unmapped: nothing there; the next mapping above only when asked.
  ASSERT_EQ(munmap(p, 4096), 0);
  facts = query_.Find(start, false);
  EXPECT_EQ(core::ErrnoOf(facts.status()), ENOENT);
  facts = query_.Find(start, true);
  ASSERT_TRUE(facts.ok());
  EXPECT_EQ(facts->start, start + 4096);
  EXPECT_EQ(facts->offset, 4096u);
  munmap(reinterpret_cast<void*>(start + 4096), kLength - 4096);
}

// The security driver hands clients anonymous-inode files whose mappings
// are backed by another (shmem) file and counted by the driver at each
// unmap: such a descriptor has no identity to park by. An eventfd is an
// anonymous inode too.
TEST(IdentifyFileTest, OnlyARegularFileHasAnIdentity) {
  const int anon = eventfd(0, EFD_CLOEXEC);
  ASSERT_GE(anon, 0);
  absl::StatusOr<FileIdentity> file = IdentifyFile(anon);
  EXPECT_EQ(core::ErrnoOf(file.status()), EINVAL) << file.status();
  close(anon);
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  EXPECT_EQ(core::ErrnoOf(IdentifyFile(pipe_fds[0]).status()), EINVAL);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
}

TEST_F(MappingQueryTest, SurvivesItsDescriptorBeingClosedUnderIt) {
  void* p = mmap(nullptr, kLength, PROT_READ, MAP_SHARED, fd_, 0);
  ASSERT_NE(p, MAP_FAILED);
  ASSERT_TRUE(query_.Find(reinterpret_cast<uint64_t>(p), false).ok());
  // A program closing every descriptor it does not know about.
  for (int fd = 3; fd < 64; ++fd) {
    if (fd != fd_) close(fd);
  }
  absl::StatusOr<MappingFacts> facts = query_.Find(reinterpret_cast<uint64_t>(p), false);
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_EQ(facts->start, reinterpret_cast<uint64_t>(p));
  munmap(p, kLength);
}

}  // namespace
}  // namespace sysv::linux_backend
