#include "core/ipc/sysctl.h"

#include <cerrno>

#include "gtest/gtest.h"

namespace sysv::core {
namespace {

// One write to a fresh namespace's `file`; `limits` and `next` keep what
// it stored.
struct Namespace {
  NamespaceLimits limits;
  NextIds next;
  SysctlWriteResult Write(Sysctl file, absl::string_view text) { return WriteSysctl(file, text, limits, next); }
  std::string Read(Sysctl file) const { return ReadSysctl(file, limits, next); }
};

#define EXPECT_TAKES(result, n)        \
  do {                                 \
    const SysctlWriteResult r = result; \
    EXPECT_EQ(r.error, 0);             \
    EXPECT_EQ(r.taken, size_t{n});     \
  } while (0)
#define EXPECT_FAILS(result, errno_value) EXPECT_EQ((result).error, errno_value)

TEST(SysctlTest, UnsignedLongTakesAnyValueAsTheKernelParsesIt) {
  Namespace ns;
  EXPECT_TAKES(ns.Write(Sysctl::kShmmax, "8192"), 4);
  EXPECT_EQ(ns.Read(Sysctl::kShmmax), "8192\n");
  EXPECT_TAKES(ns.Write(Sysctl::kShmmax, "8192\n"), 5);
  EXPECT_TAKES(ns.Write(Sysctl::kShmmax, " 8193 "), 6);
  EXPECT_EQ(ns.limits.shm.shmmax, 8193u);
  EXPECT_TAKES(ns.Write(Sysctl::kShmmax, "18446744073709551615"), 20);
  EXPECT_EQ(ns.limits.shm.shmmax, UINT64_MAX);
  EXPECT_TAKES(ns.Write(Sysctl::kShmmax, "0x10"), 4);
  EXPECT_EQ(ns.limits.shm.shmmax, 16u);
  EXPECT_TAKES(ns.Write(Sysctl::kShmmax, "5 6"), 2);  // one value: the rest is not taken
  EXPECT_EQ(ns.limits.shm.shmmax, 5u);
  EXPECT_TAKES(ns.Write(Sysctl::kShmmax, ""), 0);
  EXPECT_EQ(ns.limits.shm.shmmax, 5u);
  EXPECT_TAKES(ns.Write(Sysctl::kShmall, "0"), 1);
  EXPECT_EQ(ns.limits.shm.shmall, 0u);
}

TEST(SysctlTest, BadNumbersAreEinvalAndChangeNothing) {
  Namespace ns;
  for (const char* text : {"-1", "18446744073709551616", "12x", "   ", "+7", "08", "0x", "-",
                           "000000000000000000000005"}) {
    SCOPED_TRACE(text);
    EXPECT_FAILS(ns.Write(Sysctl::kShmmax, text), EINVAL);
    EXPECT_EQ(ns.limits.shm.shmmax, NamespaceLimits().shm.shmmax);
  }
  EXPECT_FAILS(ns.Write(Sysctl::kMsgmax, "08"), EINVAL);
  EXPECT_TAKES(ns.Write(Sysctl::kMsgmax, "010"), 3);
  EXPECT_EQ(ns.limits.msg.msgmax, 8);
}

TEST(SysctlTest, IntRangesAreTheKernels) {
  Namespace ns;
  EXPECT_TAKES(ns.Write(Sysctl::kShmmni, "32768"), 5);
  EXPECT_FAILS(ns.Write(Sysctl::kShmmni, "32769"), EINVAL);
  EXPECT_FAILS(ns.Write(Sysctl::kShmmni, "-1"), EINVAL);
  EXPECT_EQ(ns.limits.shm.shmmni, 32768);
  EXPECT_TAKES(ns.Write(Sysctl::kShmmni, "10 20"), 3);
  EXPECT_EQ(ns.limits.shm.shmmni, 10);
  EXPECT_FAILS(ns.Write(Sysctl::kMsgmni, "32769"), EINVAL);
  EXPECT_TAKES(ns.Write(Sysctl::kMsgmni, "2"), 1);
  EXPECT_EQ(ns.Read(Sysctl::kMsgmni), "2\n");
  EXPECT_FAILS(ns.Write(Sysctl::kMsgmax, "2147483648"), EINVAL);
  EXPECT_FAILS(ns.Write(Sysctl::kMsgmax, "-1"), EINVAL);
  EXPECT_TAKES(ns.Write(Sysctl::kMsgmax, "\n8192"), 5);
  EXPECT_TAKES(ns.Write(Sysctl::kMsgmnb, "2147483647"), 10);
  EXPECT_EQ(ns.limits.msg.msgmnb, INT32_MAX);
}

TEST(SysctlTest, SemIsFourIntsAndOnlySemmniIsChecked) {
  Namespace ns;
  EXPECT_TAKES(ns.Write(Sysctl::kSem, "250 32000 32 128"), 16);
  EXPECT_EQ(ns.Read(Sysctl::kSem), "250\t32000\t32\t128\n");
  // Semmni out of range: ERANGE, semmni restored, the others kept.
  EXPECT_FAILS(ns.Write(Sysctl::kSem, "1 2 3 32769"), ERANGE);
  EXPECT_EQ(ns.Read(Sysctl::kSem), "1\t2\t3\t128\n");
  EXPECT_TAKES(ns.Write(Sysctl::kSem, "-1 -2 -3 4"), 10);
  EXPECT_EQ(ns.Read(Sysctl::kSem), "-1\t-2\t-3\t4\n");
  EXPECT_TAKES(ns.Write(Sysctl::kSem, "1 2 3 4 5"), 8);
  EXPECT_TAKES(ns.Write(Sysctl::kSem, "7"), 1);
  EXPECT_EQ(ns.Read(Sysctl::kSem), "7\t2\t3\t4\n");
  EXPECT_FAILS(ns.Write(Sysctl::kSem, "x"), EINVAL);
  // A bad value after good ones: those before it stay.
  EXPECT_FAILS(ns.Write(Sysctl::kSem, "9 x"), EINVAL);
  EXPECT_EQ(ns.Read(Sysctl::kSem), "9\t2\t3\t4\n");
}

TEST(SysctlTest, NextIdsReadMinusOneAndTakeZeroToIntMax) {
  Namespace ns;
  EXPECT_EQ(ns.Read(Sysctl::kShmNextId), "-1\n");
  EXPECT_TAKES(ns.Write(Sysctl::kShmNextId, "5"), 1);
  EXPECT_EQ(ns.next.shm, 5);
  EXPECT_FAILS(ns.Write(Sysctl::kShmNextId, "-1"), EINVAL);
  EXPECT_TAKES(ns.Write(Sysctl::kShmNextId, "2147483647"), 10);
  EXPECT_FAILS(ns.Write(Sysctl::kShmNextId, "2147483648"), EINVAL);
  EXPECT_TAKES(ns.Write(Sysctl::kMsgNextId, "32769"), 5);
  EXPECT_TAKES(ns.Write(Sysctl::kSemNextId, "0"), 1);
  EXPECT_EQ(ns.Read(Sysctl::kMsgNextId), "32769\n");
  EXPECT_EQ(ns.Read(Sysctl::kSemNextId), "0\n");
}

TEST(SysctlTest, OnlyRootWritesLimitsAndOnlyTheCapabilitiesWriteNextIds) {
  Credentials root = Credentials::ForIds(1, 0, 0, {});
  Credentials user = Credentials::ForIds(1, 3100, 3100, {0});
  EXPECT_EQ(SysctlWriteError(Sysctl::kShmmax, root), 0);
  EXPECT_EQ(SysctlWriteError(Sysctl::kShmNextId, root), 0);
  EXPECT_EQ(SysctlWriteError(Sysctl::kShmmax, user), EACCES);  // group root reads only
  EXPECT_EQ(SysctlWriteError(Sysctl::kMsgNextId, user), EACCES);
  // Root without CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE: the limits yes
  // (the mode decides), the next ids no.
  Credentials bare_root = root;
  bare_root.cap_sys_admin = false;
  bare_root.cap_checkpoint_restore = false;
  EXPECT_EQ(SysctlWriteError(Sysctl::kSem, bare_root), 0);
  EXPECT_EQ(SysctlWriteError(Sysctl::kSemNextId, bare_root), EACCES);
  bare_root.cap_checkpoint_restore = true;
  EXPECT_EQ(SysctlWriteError(Sysctl::kSemNextId, bare_root), 0);
}

}  // namespace
}  // namespace sysv::core
