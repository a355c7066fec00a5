// The driver's shared accounting and input checks, run in user space: the
// same C file the Linux module compiles (backends/linux/driver/Kbuild).
#include "backends/common/driver/attach_accounting.h"

#include <sys/ioctl.h>

#include <cerrno>
#include <cstdint>

#include "gtest/gtest.h"

namespace {

TEST(AttachAccountingTest, OpenCountsAndStampsAtime) {
  sysvipc_attach a{};
  sysvipc_attach_open(&a, 100);
  sysvipc_attach_open(&a, 105);  // fork or split: ipc/shm.c moves atime too
  EXPECT_EQ(a.nattch, 2u);
  EXPECT_EQ(a.atime, 105);
  EXPECT_EQ(a.dtime, 0);
}

TEST(AttachAccountingTest, CloseStampsDtimeAndReportsNothingUnlessRemoved) {
  sysvipc_attach a{};
  sysvipc_attach_open(&a, 1);
  EXPECT_EQ(sysvipc_attach_close(&a, 7), 0);
  EXPECT_EQ(a.nattch, 0u);
  EXPECT_EQ(a.dtime, 7);
}

TEST(AttachAccountingTest, UnbalancedCloseIsRefusedAndCountStaysZero) {
  sysvipc_attach a{};
  EXPECT_EQ(sysvipc_attach_close(&a, 7), -EINVAL);
  EXPECT_EQ(a.nattch, 0u);
}

TEST(AttachAccountingTest, RemoveWithoutMappingsGoesAtOnce) {
  sysvipc_attach a{};
  EXPECT_EQ(sysvipc_attach_remove(&a, 0), 1);
  EXPECT_EQ(sysvipc_attach_stat_flags(&a), SYSVIPC_STAT_REMOVED);
  EXPECT_EQ(sysvipc_attach_remove(&a, 0), -EIDRM);
}

TEST(AttachAccountingTest, LastDetachAfterRemoveIsReportedExactlyOnce) {
  sysvipc_attach a{};
  sysvipc_attach_open(&a, 1);
  sysvipc_attach_open(&a, 2);
  EXPECT_EQ(sysvipc_attach_remove(&a, 0), 0);
  EXPECT_EQ(sysvipc_attach_close(&a, 3), 0);
  EXPECT_EQ(sysvipc_attach_close(&a, 4), 1);
  // A fork of a mapping that raced the last close cannot report it twice.
  sysvipc_attach_open(&a, 5);
  EXPECT_EQ(sysvipc_attach_close(&a, 6), 0);
}

TEST(MemlockChargeTest, ChargesWholePagesUpToTheLimit) {
  uint64_t pages = 0;
  // 4 KiB pages, limit 8 KiB: one byte takes a page, as user_shm_lock().
  EXPECT_EQ(sysvipc_memlock_charge(&pages, 1, 8192, 12), 0);
  EXPECT_EQ(pages, 1u);
  EXPECT_EQ(sysvipc_memlock_charge(&pages, 4097, 8192, 12), -ENOMEM);
  EXPECT_EQ(pages, 1u);
  EXPECT_EQ(sysvipc_memlock_charge(&pages, 4096, 8192, 12), 0);
  EXPECT_EQ(pages, 2u);
  sysvipc_memlock_refund(&pages, 1, 12);
  EXPECT_EQ(pages, 1u);
}

TEST(MemlockChargeTest, UnlimitedAndZeroLimits) {
  uint64_t pages = 0;
  EXPECT_EQ(sysvipc_memlock_charge(&pages, UINT64_MAX, ~uint64_t{0}, 12), 0);
  EXPECT_EQ(pages, (UINT64_MAX >> 12) + 1);
  uint64_t other = 0;
  EXPECT_EQ(sysvipc_memlock_charge(&other, 1, 0, 12), -ENOMEM);
  EXPECT_EQ(other, 0u);
}

TEST(MemlockChargeTest, RefundNeverUnderflows) {
  uint64_t pages = 1;
  sysvipc_memlock_refund(&pages, 1 << 20, 12);
  EXPECT_EQ(pages, 0u);
}

TEST(DriverInputTest, CreateChecksSizeFlagsAndReserved) {
  sysvipc_create c{};
  c.size = 4096;
  EXPECT_EQ(sysvipc_check_create(&c), 0);
  c.flags = SYSVIPC_CREATE_NORESERVE | SYSVIPC_CREATE_HUGETLB;
  EXPECT_EQ(sysvipc_check_create(&c), 0);
  c.flags = 0x80;
  EXPECT_EQ(sysvipc_check_create(&c), -EINVAL);
  c.flags = 0;
  c.size = 0;
  EXPECT_EQ(sysvipc_check_create(&c), -EINVAL);
  c.size = SYSVIPC_MAX_OBJECT_SIZE + 1;
  EXPECT_EQ(sysvipc_check_create(&c), -EINVAL);
  c.size = 1;
  c.reserved = 1;
  EXPECT_EQ(sysvipc_check_create(&c), -EINVAL);
}

TEST(DriverInputTest, OpenStatRemoveRejectIdZeroAndUnknownBits) {
  sysvipc_open o{};
  EXPECT_EQ(sysvipc_check_open(&o), -EINVAL);
  o.id = 3;
  o.flags = SYSVIPC_OPEN_READONLY;
  EXPECT_EQ(sysvipc_check_open(&o), 0);
  o.flags = 2;
  EXPECT_EQ(sysvipc_check_open(&o), -EINVAL);

  sysvipc_stat s{};
  EXPECT_EQ(sysvipc_check_stat(&s), -EINVAL);
  s.id = 1;
  EXPECT_EQ(sysvipc_check_stat(&s), 0);
  s.reserved = 9;
  EXPECT_EQ(sysvipc_check_stat(&s), -EINVAL);

  sysvipc_remove r{};
  EXPECT_EQ(sysvipc_check_remove(&r), -EINVAL);
  r.id = 1;
  EXPECT_EQ(sysvipc_check_remove(&r), 0);
  r.gone = 1;
  EXPECT_EQ(sysvipc_check_remove(&r), -EINVAL);
}

TEST(DriverInputTest, ListBoundsCountAndNeedsABuffer) {
  sysvipc_list l{};
  EXPECT_EQ(sysvipc_check_list(&l), 0);
  l.count = 1;
  EXPECT_EQ(sysvipc_check_list(&l), -EINVAL);
  l.ids = 0x1000;
  EXPECT_EQ(sysvipc_check_list(&l), 0);
  l.count = SYSVIPC_LIST_MAX + 1;
  EXPECT_EQ(sysvipc_check_list(&l), -EINVAL);
}

TEST(DriverInputTest, LockChecksOp) {
  sysvipc_lock l{};
  l.id = 1;
  EXPECT_EQ(sysvipc_check_lock(&l), 0);
  l.op = SYSVIPC_LOCK_LOCK;
  EXPECT_EQ(sysvipc_check_lock(&l), 0);
  l.op = 2;
  EXPECT_EQ(sysvipc_check_lock(&l), -EINVAL);
}

TEST(DriverInputTest, VersionAndEventSizes) {
  sysvipc_version v{};
  EXPECT_EQ(sysvipc_check_version(&v), 0);
  v.reserved = 1;
  EXPECT_EQ(sysvipc_check_version(&v), -EINVAL);
  EXPECT_EQ(sysvipc_events_that_fit(7), 0u);
  EXPECT_EQ(sysvipc_events_that_fit(8), 1u);
  EXPECT_EQ(sysvipc_events_that_fit(17), 2u);
}

TEST(DriverAbiTest, IoctlNumbersAreDistinctReadWriteCommands) {
  const unsigned long cmds[] = {SYSVIPC_IOC_VERSION, SYSVIPC_IOC_CREATE, SYSVIPC_IOC_OPEN,
                                SYSVIPC_IOC_STAT,    SYSVIPC_IOC_REMOVE, SYSVIPC_IOC_LIST,
                                SYSVIPC_IOC_LOCK};
  for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); ++i) {
    EXPECT_EQ(_IOC_TYPE(cmds[i]), SYSVIPC_IOC_MAGIC);
    EXPECT_EQ(_IOC_DIR(cmds[i]), _IOC_READ | _IOC_WRITE);
    for (size_t j = 0; j < i; ++j) EXPECT_NE(cmds[i], cmds[j]);
  }
  EXPECT_EQ(_IOC_SIZE(SYSVIPC_IOC_STAT), sizeof(sysvipc_stat));
}

TEST(AttachAccountingTest, SyncCountsNewMappingsAsOpens) {
  sysvipc_attach a{};
  EXPECT_EQ(sysvipc_attach_sync(&a, 3, 0, 50), 0);
  EXPECT_EQ(a.nattch, 3u);
  EXPECT_EQ(a.atime, 50);
  EXPECT_EQ(a.dtime, 0);
}

TEST(AttachAccountingTest, SyncCountsVanishedMappingsAsCloses) {
  sysvipc_attach a{};
  sysvipc_attach_sync(&a, 3, 0, 50);
  EXPECT_EQ(sysvipc_attach_sync(&a, 1, 0, 60), 0);
  EXPECT_EQ(a.nattch, 1u);
  EXPECT_EQ(a.dtime, 60);
  EXPECT_EQ(sysvipc_attach_sync(&a, 0, 0, 70), 0);  // not removed: stays
  EXPECT_EQ(sysvipc_attach_stat_flags(&a), 0u);
}

TEST(AttachAccountingTest, SyncReportsARemovedObjectsLastDetachOnce) {
  sysvipc_attach a{};
  sysvipc_attach_sync(&a, 2, 0, 1);
  ASSERT_EQ(sysvipc_attach_remove(&a, 0), 0);
  EXPECT_EQ(sysvipc_attach_sync(&a, 1, 0, 2), 0);
  EXPECT_EQ(sysvipc_attach_sync(&a, 0, 0, 3), 1);
  EXPECT_EQ(a.dtime, 3);
  // Gone: a later sync (even one that sees a mapping again) changes nothing.
  EXPECT_EQ(sysvipc_attach_sync(&a, 0, 0, 4), 0);
  EXPECT_EQ(sysvipc_attach_sync(&a, 1, 0, 5), 0);
  EXPECT_EQ(a.nattch, 0u);
  EXPECT_EQ(a.dtime, 3);
}

TEST(AttachAccountingTest, RemoveWithAMappingOnItsWayWaitsForIt) {
  // DragonFly: an mmap between d_mmap_single and its map entry.
  sysvipc_attach a{};
  EXPECT_EQ(sysvipc_attach_remove(&a, 1), 0);
  EXPECT_EQ(sysvipc_attach_stat_flags(&a), SYSVIPC_STAT_REMOVED);
  EXPECT_EQ(sysvipc_attach_sync(&a, 0, 1, 5), 0);  // still on its way
  EXPECT_EQ(sysvipc_attach_sync(&a, 1, 0, 6), 0);  // it arrived
  EXPECT_EQ(a.nattch, 1u);
  EXPECT_EQ(sysvipc_attach_sync(&a, 0, 0, 7), 1);  // and went
  EXPECT_EQ(sysvipc_attach_sync(&a, 0, 0, 8), 0);
}

TEST(AttachAccountingTest, AMappingThatNeverArrivesStillLetsTheObjectGo) {
  // The mmap failed after d_mmap_single: no entry, and nothing pending.
  sysvipc_attach a{};
  ASSERT_EQ(sysvipc_attach_remove(&a, 1), 0);
  EXPECT_EQ(sysvipc_attach_sync(&a, 0, 0, 5), 1);
  EXPECT_EQ(a.nattch, 0u);
  EXPECT_EQ(sysvipc_attach_sync(&a, 0, 0, 6), 0);
}

TEST(AttachAccountingTest, LastDetachWaitsWhileAMappingIsOnItsWay) {
  sysvipc_attach a{};
  sysvipc_attach_sync(&a, 1, 0, 1);
  ASSERT_EQ(sysvipc_attach_remove(&a, 0), 0);
  EXPECT_EQ(sysvipc_attach_sync(&a, 0, 1, 2), 0);
  EXPECT_EQ(a.nattch, 0u);  // counted as the kernel counts: no entry
  EXPECT_EQ(a.dtime, 2);
  EXPECT_EQ(sysvipc_attach_sync(&a, 0, 0, 3), 1);
}

}  // namespace
