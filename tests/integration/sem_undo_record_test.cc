// A process finds its SEM_UNDO record through a per-process hint (the block
// where it found it last: core/sem/sem_set.h, SemSet::undo_block_). The
// hint must never make it use a record that is no longer its own: here its
// old record is dropped (its earlier incarnation exited) and another
// process's record takes the same block, then it semops with SEM_UNDO
// again through the same SemSet. Each process's exit must undo exactly its
// own adjustments.
#include <sys/mman.h>
#include <unistd.h>

#include "backends/platform.h"
#include "core/deadline.h"
#include "core/sem/sem_registry.h"
#include "core/sem/sem_set.h"
#include "gtest/gtest.h"

namespace sysv {
namespace {

using core::SemSet;

TEST(SemUndoRecordTest, AHintedBlockNowAnotherProcesssRecordIsNotUsed) {
  const size_t size = SemSet::RegionSize(1);
  const int fd = memfd_create("sem-undo", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, static_cast<off_t>(size)), 0);
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(base, MAP_FAILED);
  const core::SemPlatform* platform = &platform::ClientSemPlatform();
  absl::StatusOr<SemSet> owner = SemSet::Format(base, size, 1, 1, platform);  // the daemon's view
  ASSERT_TRUE(owner.ok()) << owner.status();
  absl::StatusOr<SemSet> a_view = SemSet::Open(base, size, platform);  // process A's, kept
  absl::StatusOr<SemSet> b_view = SemSet::Open(base, size, platform);  // process B's
  ASSERT_TRUE(a_view.ok() && b_view.ok());
  // A's pid lives on in a later process (pid reuse): same pid, new start.
  const SemSet::Caller a_first{4242, 100};
  const SemSet::Caller a_again{4242, 200};
  const SemSet::Caller b{4343, 300};
  const core::SemOp up{0, 1, core::kSemUndo};
  const core::SemOp up_two{0, 2, core::kSemUndo};

  ASSERT_EQ(a_view->Semop({&up, 1}, a_first, core::Deadline::Infinite()), 0);
  ASSERT_EQ(owner->GetVal(0), 1);
  ASSERT_TRUE(owner->ProcessExited(a_first));  // its record is freed
  ASSERT_EQ(owner->GetVal(0), 0);
  ASSERT_EQ(b_view->Semop({&up_two, 1}, b, core::Deadline::Infinite()), 0);  // takes the freed block
  ASSERT_EQ(owner->GetVal(0), 2);
  ASSERT_EQ(a_view->Semop({&up, 1}, a_again, core::Deadline::Infinite()), 0);
  ASSERT_EQ(owner->GetVal(0), 3);

  // B's exit takes back B's +2 alone, then A's its +1.
  EXPECT_TRUE(owner->ProcessExited(b));
  EXPECT_EQ(owner->GetVal(0), 1);
  EXPECT_TRUE(owner->ProcessExited(a_again));
  EXPECT_EQ(owner->GetVal(0), 0);
  munmap(base, size);
  close(fd);
}

}  // namespace
}  // namespace sysv
