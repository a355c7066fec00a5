// Differential test of shmget/semget/msgget of existing keys (issue #14:
// libsysv answers a *get of a key the process has got before from the
// mapped object table, core/ipc/local_get.h, and asks the daemon
// otherwise). One script per kind runs against the kernel (a fresh IPC
// namespace) and libsysv (a fresh daemon): gets by key with every flag and
// size/nsems case, after another process removed the key's object, after
// it was removed and made again, IPC_PRIVATE, after another process's
// IPC_SET, and permission denials as a different user (uid/gid 3203).
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "tests/testing/differential.h"
#include "tests/testing/msg_api.h"
#include "tests/testing/sem_api.h"
#include "tests/testing/shm_api.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

using testing::TraceWriter;

constexpr uid_t kOtherUser = 3203;
constexpr gid_t kOtherGroup = 3203;
constexpr key_t kKey = 0x5d1420;

// One kind's calls: get(key, size-or-nsems, flags), remove(id), and
// set_mode(id, mode) (IPC_SET keeping the owner).
struct KindOps {
  const char* name;
  std::function<int(key_t, int, int)> get;
  std::function<int(int)> remove;
  std::function<int(int, int)> set_mode;
};

KindOps ShmOps(const testing::ShmApi& api) {
  return {"shm", [&api](key_t k, int size, int flags) { return api.shmget(k, static_cast<size_t>(size), flags); },
          [&api](int id) { return api.shmctl(id, IPC_RMID, nullptr); },
          [&api](int id, int mode) {
            shmid_ds ds{};
            if (api.shmctl(id, IPC_STAT, &ds) != 0) return -1;
            ds.shm_perm.mode = static_cast<unsigned short>(mode);
            return api.shmctl(id, IPC_SET, &ds);
          }};
}

KindOps SemOps(const testing::SemApi& api) {
  return {"sem", [&api](key_t k, int nsems, int flags) { return api.semget(k, nsems, flags); },
          [&api](int id) { return api.semctl(id, 0, IPC_RMID); },
          [&api](int id, int mode) {
            semid_ds ds{};
            if (api.semctl(id, 0, IPC_STAT, &ds) != 0) return -1;
            ds.sem_perm.mode = static_cast<unsigned short>(mode);
            return api.semctl(id, 0, IPC_SET, &ds);
          }};
}

KindOps MsgOps(const testing::MsgApi& api) {
  return {"msg", [&api](key_t k, int, int flags) { return api.msgget(k, flags); },
          [&api](int id) { return api.msgctl(id, IPC_RMID, nullptr); },
          [&api](int id, int mode) {
            msqid_ds ds{};
            if (api.msgctl(id, IPC_STAT, &ds) != 0) return -1;
            ds.msg_perm.mode = static_cast<unsigned short>(mode);
            return api.msgctl(id, IPC_SET, &ds);
          }};
}

std::string Result(int result) {
  return result == -1 ? absl::StrCat("-1 ", strerrorname_np(errno)) : absl::StrCat(result);
}

// Runs `body` in a forked child, as the other user if `other_user`.
std::string InOtherProcess(bool other_user, const std::function<std::string()>& body) {
  return other_user ? testing::InOtherProcess(body, kOtherUser, kOtherGroup) : testing::InOtherProcess(body);
}

void Script(const KindOps& ops, TraceWriter& out) {
  int step = 0;
  auto record = [&](const std::string& line) { out.Line(step++, absl::StrCat(ops.name, ": ", line)); };
  std::vector<int> ids;
  auto name = [&](int result) -> std::string {
    if (result < 0) return Result(result);
    for (size_t i = 0; i < ids.size(); ++i) if (ids[i] == result) return absl::StrCat("id#", i);
    ids.push_back(result);
    return absl::StrCat("id#", ids.size() - 1, " (new)");
  };
  auto get = [&](const char* what, key_t key, int size, int flags) {
    errno = 0;
    const int result = ops.get(key, size, flags);
    record(absl::StrFormat("%s: get(key%+d, %d, %#o) = %s", what, key == IPC_PRIVATE ? -1 : key - kKey, size,
                           flags, name(result)));
    return result;
  };

  const int id = get("create", kKey, 4096, IPC_CREAT | IPC_EXCL | 0640);
  get("again", kKey, 4096, 0);
  get("again, asking 0600", kKey, 4096, 0600);
  get("again, asking 0666", kKey, 4096, 0666);
  get("IPC_CREAT", kKey, 4096, IPC_CREAT | 0640);
  get("IPC_CREAT|IPC_EXCL", kKey, 4096, IPC_CREAT | IPC_EXCL | 0640);
  get("IPC_EXCL alone", kKey, 4096, IPC_EXCL);
  get("size/nsems 0", kKey, 0, 0);
  get("larger than it", kKey, 8192, 0);
  get("size/nsems -1", kKey, -1, 0);
  get("nsems beyond SEMMSL", kKey, 40000, 0);
  get("IPC_PRIVATE", IPC_PRIVATE, 4096, 0600);
  get("IPC_PRIVATE again", IPC_PRIVATE, 4096, 0600);
  get("a key never used", kKey + 7, 4096, 0);
  // As another user: the group and other classes deny.
  record(absl::StrCat("other user, read: ", InOtherProcess(true, [&] {
                        errno = 0;
                        return Result(ops.get(kKey, 4096, 0400) == id ? 0 : -1);
                      })));
  record(absl::StrCat("other user, no access asked: ", InOtherProcess(true, [&] {
                        errno = 0;
                        const int r = ops.get(kKey, 4096, 0);
                        return r == id ? std::string("the id") : Result(r);
                      })));
  // Another process (same user) opens it up with IPC_SET: the other user may.
  record(absl::StrCat("IPC_SET 0644 by another process: ",
                      InOtherProcess(false, [&] { return Result(ops.set_mode(id, 0644)); })));
  get("after another's IPC_SET", kKey, 4096, 0644);
  record(absl::StrCat("other user, read after IPC_SET: ", InOtherProcess(true, [&] {
                        errno = 0;
                        const int r = ops.get(kKey, 4096, 0444);
                        return r == id ? std::string("the id") : Result(r);
                      })));
  // Removed by another process: the key is gone at once.
  record(absl::StrCat("IPC_RMID by another process: ", InOtherProcess(false, [&] { return Result(ops.remove(id)); })));
  get("just removed", kKey, 4096, 0);
  get("just removed, IPC_CREAT", kKey, 4096, IPC_CREAT | 0600);
  get("remade", kKey, 4096, 0);
  // Removed and made again by another process, under the same key.
  record(absl::StrCat("remade by another process: ", InOtherProcess(false, [&] {
                        const int old = ops.get(kKey, 4096, 0);
                        if (old < 0 || ops.remove(old) != 0) return std::string("failed");
                        return std::string(ops.get(kKey, 4096, IPC_CREAT | IPC_EXCL | 0600) >= 0 ? "ok" : "failed");
                      })));
  get("after another remade it", kKey, 4096, 0);

  // First gets in this process of keys other processes made (issue #14:
  // answered from the table's key index, core/ipc/key_index.h).
  const key_t made = kKey + 1;
  record(absl::StrCat("another process makes key+1 0640: ", InOtherProcess(false, [&] {
                        return Result(ops.get(made, 4096, IPC_CREAT | IPC_EXCL | 0640) >= 0 ? 0 : -1);
                      })));
  const int made_id = get("first get of another's key+1", made, 4096, 0);
  get("key+1, IPC_CREAT", made, 4096, IPC_CREAT | 0600);
  get("key+1, IPC_CREAT|IPC_EXCL", made, 4096, IPC_CREAT | IPC_EXCL | 0600);
  get("key+1, larger than it", made, 8192, 0);
  get("key+1, nsems beyond SEMMSL", made, 40000, 0);
  record(absl::StrCat("other user, first get of key+1 for read: ", InOtherProcess(true, [&] {
                        errno = 0;
                        const int r = ops.get(made, 4096, 0400);
                        return r == made_id ? std::string("the id") : Result(r);
                      })));
  // Another user's object: made by the other user, 0600; looked up first
  // here as root (CAP_IPC_OWNER), then opened up and closed again.
  const key_t theirs = kKey + 2;
  record(absl::StrCat("other user makes key+2 0600: ", InOtherProcess(true, [&] {
                        return Result(ops.get(theirs, 4096, IPC_CREAT | IPC_EXCL | 0600) >= 0 ? 0 : -1);
                      })));
  const int their_id = get("first get of the other user's key+2", theirs, 4096, 0600);
  record(absl::StrCat("other user's IPC_SET 0644: ", InOtherProcess(true, [&] {
                        return Result(ops.set_mode(their_id, 0644));
                      })));
  // Root's own object, given away and taken back: the other user's first
  // get after each IPC_SET by another process.
  const key_t shared = kKey + 3;
  const int shared_id = get("make key+3 0666", shared, 4096, IPC_CREAT | IPC_EXCL | 0666);
  record(absl::StrCat("other user, first get of key+3 0666: ", InOtherProcess(true, [&] {
                        errno = 0;
                        const int r = ops.get(shared, 4096, 0666);
                        return r == shared_id ? std::string("the id") : Result(r);
                      })));
  record(absl::StrCat("IPC_SET 0600 of key+3 by another process: ",
                      InOtherProcess(false, [&] { return Result(ops.set_mode(shared_id, 0600)); })));
  record(absl::StrCat("other user, get of key+3 after the permission was taken away: ", InOtherProcess(true, [&] {
                        errno = 0;
                        const std::string read = Result(ops.get(shared, 4096, 0400) == shared_id ? 0 : -1);
                        errno = 0;
                        const int none = ops.get(shared, 4096, 0);
                        return absl::StrCat(read, "; asking nothing: ", none == shared_id ? "the id" : Result(none));
                      })));
  // Gets while another process keeps making and removing keys: a key that
  // stays is always its object, a churned one is its object or ENOENT.
  record(absl::StrCat("gets during another's creates and removes: ", InOtherProcess(false, [&] {
                        const pid_t churner = fork();
                        if (churner == 0) {
                          for (int round = 0; round < 300; ++round) {
                            for (key_t k = kKey + 10; k < kKey + 20; ++k) {
                              const int created = ops.get(k, 4096, IPC_CREAT | 0600);
                              if (created >= 0 && (k + round) % 2 == 0) ops.remove(created);
                            }
                          }
                          for (key_t k = kKey + 10; k < kKey + 20; ++k) {
                            const int left = ops.get(k, 4096, 0);
                            if (left >= 0) ops.remove(left);
                          }
                          _exit(0);
                        }
                        std::string verdict = "stable";
                        for (int i = 0; i < 3000; ++i) {
                          errno = 0;
                          if (ops.get(made, 4096, 0) != made_id) verdict = "key+1 changed";
                          const int churned = ops.get(kKey + 10 + i % 10, 4096, 0);
                          if (churned < 0 && errno != ENOENT) verdict = absl::StrCat("churned key: ", Result(churned));
                        }
                        int status = 0;
                        waitpid(churner, &status, 0);
                        return verdict;
                      })));
  for (int i : ids) ops.remove(i);
  record("done");
}

void RunBoth(const std::function<KindOps()>& kernel_ops, const std::function<KindOps()>& libsysv_ops,
             const char* tag) {
  ASSERT_TRUE(testing::CanUseFreshKernelNamespace()) << "needs a private kernel IPC namespace";
  const std::vector<std::string> kernel = testing::TraceInChild(
      "kernel", [] { return testing::EnterFreshKernelNamespace(); }, [&](TraceWriter& out) { Script(kernel_ops(), out); });
  const std::string dir = testing::FreshNamespaceDir(tag);
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0) << std::strerror(errno);
  testing::TestDaemon daemon(dir);
  daemon.Start();
  const std::vector<std::string> libsysv =
      testing::TraceInChild("libsysv", [] { return true; }, [&](TraceWriter& out) { Script(libsysv_ops(), out); });
  testing::ExpectSameTraces(kernel, libsysv, tag);
  EXPECT_GE(kernel.size(), 25u);
}

TEST(LookupDifferentialTest, ShmGetOfExistingKeysMatchesTheKernel) {
  RunBoth([] { return ShmOps(testing::KernelShm()); }, [] { return ShmOps(testing::LibsysvShm()); }, "lookup-shm");
}

TEST(LookupDifferentialTest, SemGetOfExistingKeysMatchesTheKernel) {
  RunBoth([] { return SemOps(testing::KernelSem()); }, [] { return SemOps(testing::LibsysvSem()); }, "lookup-sem");
}

TEST(LookupDifferentialTest, MsgGetOfExistingKeysMatchesTheKernel) {
  RunBoth([] { return MsgOps(testing::KernelMsg()); }, [] { return MsgOps(testing::LibsysvMsg()); }, "lookup-msg");
}

}  // namespace
}  // namespace sysv
