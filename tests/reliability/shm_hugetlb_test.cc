// SHM_HUGETLB answered as the kernel answers it (ipc/shm.c:newseg() ->
// hugetlb_file_setup()): who may ask (CAP_IPC_LOCK, vm.hugetlb_shm_group,
// else the RLIMIT_MEMLOCK fallback), whether huge pages must be free
// (reserved up front unless SHM_NORESERVE), and the sizes. The same calls
// run against the kernel and against libsysv as root and as a user with
// RLIMIT_MEMLOCK 0 and a small one, and every result and errno must agree;
// shm_segsz too where the segment was made. This machine has no huge pages
// reserved, which is the interesting case (LTP's shmget02 runs it).
#include <sys/ipc.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/str_format.h"
#include "backends/platform.h"
#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/reliability/as_user.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

using testing::Identity;
using testing::RunAs;

struct Outcome {
  int result = 0;  // 0: made, else the errno
  size_t segsz = 0;
  bool operator==(const Outcome&) const = default;
};

std::string Describe(const Outcome& outcome) {
  return outcome.result == 0 ? absl::StrFormat("made, shm_segsz %u", outcome.segsz)
                             : std::string(strerrorname_np(outcome.result));
}

// shmget(IPC_PRIVATE, size, IPC_CREAT | flags | 0600) through `get`, then
// IPC_STAT and IPC_RMID through `ctl` when it was made.
template <typename Get, typename Ctl>
Outcome Try(Get get, Ctl ctl, size_t size, int flags) {
  const int id = get(IPC_PRIVATE, size, IPC_CREAT | flags | 0600);
  if (id < 0) return Outcome{errno, 0};
  struct shmid_ds ds{};
  Outcome outcome{0, 0};
  if (ctl(id, IPC_STAT, &ds) == 0) outcome.segsz = ds.shm_segsz;
  ctl(id, IPC_RMID, nullptr);
  return outcome;
}

// Runs both sides in a child as `who` with RLIMIT_MEMLOCK `memlock` and
// reports through the exit status: 0 when every case agreed.
int CompareAs(const Identity& who, rlim_t memlock) {
  return RunAs(who, [memlock] {
    struct rlimit limit = {memlock, memlock};
    if (setrlimit(RLIMIT_MEMLOCK, &limit) != 0) {
      std::perror("setrlimit");
      return 2;
    }
    int failures = 0;
    const size_t two_mib = size_t{2} << 20;
    for (size_t size : {size_t{4096}, two_mib, two_mib + 1, 3 * two_mib}) {
      for (int flags : {SHM_HUGETLB, SHM_HUGETLB | SHM_NORESERVE}) {
        const Outcome kernel = Try(&shmget, &shmctl, size, flags);
        const Outcome ours = Try(&sysv_shmget, &sysv_shmctl, size, flags);
        if (!(kernel == ours)) {
          std::fprintf(stderr, "size %zu%s: kernel %s, libsysv %s\n", size,
                       flags & SHM_NORESERVE ? " SHM_NORESERVE" : "", Describe(kernel).c_str(),
                       Describe(ours).c_str());
          ++failures;
        }
      }
    }
    return failures == 0 ? 0 : 1;
  });
}

class ShmHugetlbTest : public testing::SharedNamespaceTest {
 protected:
  ShmHugetlbTest() : SharedNamespaceTest("hugetlb") {}
  void SetUp() override {
    // The daemon offers the huge pages its platform reports; the DragonFly
    // backend (also over its Linux doubles) reports none: DragonFly has no
    // SHM_HUGETLB, so there is no kernel answer to agree with.
    if (!platform::HugePagePoolOf(0).has_value()) {
      GTEST_SKIP() << "this backend offers no huge page pools (platform::HugePagePoolOf)";
    }
    SharedNamespaceTest::SetUp();
  }
};

TEST_F(ShmHugetlbTest, RootAgreesWithTheKernel) {
  EXPECT_EQ(CompareAs(testing::User("root", 0, 0), 8 << 20), 0);
}

TEST_F(ShmHugetlbTest, UserWithoutMemlockAgreesWithTheKernel) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  EXPECT_EQ(CompareAs(testing::User("hugetlb-user", 2951, 2951), 0), 0);
}

TEST_F(ShmHugetlbTest, UserWithSomeMemlockAgreesWithTheKernel) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  EXPECT_EQ(CompareAs(testing::User("hugetlb-user", 2952, 2952), 4 << 20), 0);
}

}  // namespace
}  // namespace sysv
