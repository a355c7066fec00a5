// Differential test of IPC_INFO, SHM_INFO, SEM_INFO and MSG_INFO as a
// process that already uses the namespace sees them (issue #14: libsysv
// answers IPC_INFO of every kind and SEM_INFO from what the daemon
// publishes in the mapped object tables' headers, core/ipc/object_table.h
// TableInfo, and asks the daemon for SHM_INFO and MSG_INFO). One script per
// kind runs against the kernel (a fresh IPC namespace) and libsysv (a
// fresh daemon), and records every field after another process's create,
// IPC_SET and IPC_RMID, after another user's (uid/gid 3700) create and
// removal, and after another process's sysctl write of the kind's limits.
#include <fcntl.h>
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
#include "core/ipc/sysctl.h"
#include "core/protocol/wire.h"
#include "gtest/gtest.h"
#include "tests/reliability/raw_client.h"
#include "tests/testing/differential.h"
#include "tests/testing/msg_api.h"
#include "tests/testing/sem_api.h"
#include "tests/testing/shm_api.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

using testing::TraceWriter;

// This suite's user (issue #14 control-plane tests use 3700-3749).
constexpr uid_t kOtherUser = 3700;
constexpr gid_t kOtherGroup = 3700;
constexpr key_t kKey = 0x5d1437;

std::string Result(long result) {
  return result == -1 ? absl::StrCat("-1 ", strerrorname_np(errno)) : absl::StrCat(result);
}

// One kind's calls: make(key, mode) an object, find(key) it, remove(id),
// set_mode(id, mode), and info(), every *_INFO command's value and fields as
// one line.
struct KindOps {
  const char* name;
  std::function<int(key_t, int)> make;
  std::function<int(key_t)> find;
  std::function<int(int)> remove;
  std::function<int(int, int)> set_mode;
  std::function<std::string()> info;
};

KindOps ShmOps(const testing::ShmApi& api) {
  return {"shm", [&api](key_t k, int mode) { return api.shmget(k, 3 * 4096 + 1, IPC_CREAT | IPC_EXCL | mode); },
          [&api](key_t k) { return api.shmget(k, 0, 0); },
          [&api](int id) { return api.shmctl(id, IPC_RMID, nullptr); },
          [&api](int id, int mode) {
            shmid_ds ds{};
            if (api.shmctl(id, IPC_STAT, &ds) != 0) return -1;
            ds.shm_perm.mode = static_cast<unsigned short>(mode);
            return api.shmctl(id, IPC_SET, &ds);
          },
          [&api] {
            shminfo limits{};
            const int max_index = api.shmctl(0, IPC_INFO, reinterpret_cast<shmid_ds*>(&limits));
            std::string line = absl::StrFormat("IPC_INFO %s: shmmax %lu shmmin %lu shmmni %lu shmseg %lu shmall %lu",
                                               Result(max_index), limits.shmmax, limits.shmmin, limits.shmmni,
                                               limits.shmseg, limits.shmall);
            shm_info usage{};
            const int max_index2 = api.shmctl(0, SHM_INFO, reinterpret_cast<shmid_ds*>(&usage));
            absl::StrAppendFormat(&line, "; SHM_INFO %s: used_ids %d shm_tot %lu", Result(max_index2), usage.used_ids,
                                  usage.shm_tot);
            return line;
          }};
}

KindOps SemOps(const testing::SemApi& api) {
  return {"sem", [&api](key_t k, int mode) { return api.semget(k, 3, IPC_CREAT | IPC_EXCL | mode); },
          [&api](key_t k) { return api.semget(k, 0, 0); },
          [&api](int id) { return api.semctl(id, 0, IPC_RMID); },
          [&api](int id, int mode) {
            semid_ds ds{};
            if (api.semctl(id, 0, IPC_STAT, &ds) != 0) return -1;
            ds.sem_perm.mode = static_cast<unsigned short>(mode);
            return api.semctl(id, 0, IPC_SET, &ds);
          },
          [&api] {
            std::string line;
            for (int cmd : {IPC_INFO, SEM_INFO}) {
              seminfo info{};
              const int max_index = api.semctl(0, 0, cmd, &info);
              absl::StrAppendFormat(&line,
                                    "%s %s: semmap %d semmni %d semmns %d semmnu %d semmsl %d semopm %d semume %d "
                                    "semusz %d semvmx %d semaem %d; ",
                                    cmd == IPC_INFO ? "IPC_INFO" : "SEM_INFO", Result(max_index), info.semmap,
                                    info.semmni, info.semmns, info.semmnu, info.semmsl, info.semopm, info.semume,
                                    info.semusz, info.semvmx, info.semaem);
            }
            return line;
          }};
}

KindOps MsgOps(const testing::MsgApi& api) {
  return {"msg", [&api](key_t k, int mode) { return api.msgget(k, IPC_CREAT | IPC_EXCL | mode); },
          [&api](key_t k) { return api.msgget(k, 0); },
          [&api](int id) { return api.msgctl(id, IPC_RMID, nullptr); },
          [&api](int id, int mode) {
            msqid_ds ds{};
            if (api.msgctl(id, IPC_STAT, &ds) != 0) return -1;
            ds.msg_perm.mode = static_cast<unsigned short>(mode);
            return api.msgctl(id, IPC_SET, &ds);
          },
          [&api] {
            std::string line;
            for (int cmd : {IPC_INFO, MSG_INFO}) {
              msginfo info{};
              const int max_index = api.msgctl(0, cmd, reinterpret_cast<msqid_ds*>(&info));
              absl::StrAppendFormat(&line,
                                    "%s %s: msgpool %d msgmap %d msgmax %d msgmnb %d msgmni %d msgssz %d msgtql %d "
                                    "msgseg %d; ",
                                    cmd == IPC_INFO ? "IPC_INFO" : "MSG_INFO", Result(max_index), info.msgpool,
                                    info.msgmap, info.msgmax, info.msgmnb, info.msgmni, info.msgssz, info.msgtql,
                                    info.msgseg);
            }
            return line;
          }};
}

// Runs `body` in a forked child, as the other user if `other_user`.
std::string InOtherProcess(bool other_user, const std::function<std::string()>& body) {
  return other_user ? testing::InOtherProcess(body, kOtherUser, kOtherGroup) : testing::InOtherProcess(body);
}

// Writes `text` to /proc/sys/kernel/`name` of the kernel's namespace.
std::string KernelSysctl(const char* name, const std::string& text) {
  const int fd = open(absl::StrCat("/proc/sys/kernel/", name).c_str(), O_WRONLY);
  if (fd < 0) return Result(-1);
  const ssize_t n = write(fd, text.data(), text.size());
  const std::string result = n < 0 ? Result(-1) : "ok";
  close(fd);
  return result;
}

// The same write through the daemon of namespace `dir`, by hand (a
// preloaded program's write of the /proc file becomes this request).
std::string LibsysvSysctl(const std::string& dir, core::Sysctl file, const std::string& text) {
  testing::RawClient client(dir);
  if (!client.ok() || client.Register() != 0) return "cannot connect";
  core::wire::SysctlRequest request{};
  request.file = static_cast<uint32_t>(file);
  request.action = static_cast<uint32_t>(core::wire::SysctlAction::kWrite);
  request.length = static_cast<uint32_t>(text.size());
  std::memcpy(request.text, text.data(), text.size());
  const testing::RawReply raw = client.Call<core::wire::Op::kSysctl>(request);
  const auto reply = testing::DecodeRawReply<core::wire::Op::kSysctl>(raw, client.last_request_id());
  if (!reply) return "no reply";
  if (reply->status.error != 0) return absl::StrCat("-1 ", strerrorname_np(reply->status.error));
  return "ok";
}

// The kind's limits changed by another process: `set_limits()` is run there.
void Script(const KindOps& ops, const std::function<std::string()>& set_limits, TraceWriter& out) {
  int step = 0;
  auto record = [&](const std::string& line) { out.Line(step++, absl::StrCat(ops.name, ": ", line)); };
  auto info = [&](const char* when) { record(absl::StrCat(when, ": ", ops.info())); };

  // The caller's first object: from here on its library has the tables.
  const int mine = ops.make(IPC_PRIVATE, 0600);
  record(absl::StrCat("own object: ", mine >= 0 ? "made" : Result(mine)));
  info("after own create");
  record(absl::StrCat("another process creates two: ", InOtherProcess(false, [&] {
                        const int a = ops.make(kKey, 0600);
                        const int b = ops.make(kKey + 1, 0600);
                        return std::string(a >= 0 && b >= 0 ? "ok" : "failed");
                      })));
  info("after another's creates");
  record(absl::StrCat("another user creates one: ", InOtherProcess(true, [&] {
                        return std::string(ops.make(kKey + 2, 0600) >= 0 ? "ok" : "failed");
                      })));
  info("after another user's create");
  record(absl::StrCat("another process IPC_SETs: ", InOtherProcess(false, [&] { return Result(ops.set_mode(mine, 0640)); })));
  info("after another's IPC_SET");
  // Removing the highest index lowers the value; removing a lower one not.
  const auto remove_key = [&](key_t key) {
    const int id = ops.find(key);
    return id < 0 ? Result(id) : Result(ops.remove(id));
  };
  record(absl::StrCat("another user removes his: ", InOtherProcess(true, [&] { return remove_key(kKey + 2); })));
  info("after another user's remove");
  record(absl::StrCat("another process removes the first: ", InOtherProcess(false, [&] { return remove_key(kKey); })));
  info("after another's remove of a lower index");
  record(absl::StrCat("another process writes the limits: ", InOtherProcess(false, set_limits)));
  info("after another's sysctl write");
  record(absl::StrCat("another process removes the second: ",
                      InOtherProcess(false, [&] { return remove_key(kKey + 1); })));
  info("after another's remove");
  record(absl::StrCat("own remove: ", Result(ops.remove(mine))));
  info("after own remove");
  record("done");
}

void RunBoth(const std::function<KindOps()>& kernel_ops, const std::function<KindOps()>& libsysv_ops,
             core::Sysctl file, const char* sysctl_name, const std::string& text, const char* tag) {
  ASSERT_TRUE(testing::CanUseFreshKernelNamespace()) << "needs a private kernel IPC namespace";
  const std::vector<std::string> kernel =
      testing::TraceInChild("kernel", [] { return testing::EnterFreshKernelNamespace(); }, [&](TraceWriter& out) {
        Script(kernel_ops(), [&] { return KernelSysctl(sysctl_name, text); }, out);
      });
  const std::string dir = testing::FreshNamespaceDir(tag);
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0) << std::strerror(errno);
  testing::TestDaemon daemon(dir);
  daemon.Start();
  const std::vector<std::string> libsysv = testing::TraceInChild("libsysv", [] { return true; }, [&](TraceWriter& out) {
    Script(libsysv_ops(), [&] { return LibsysvSysctl(dir, file, text); }, out);
  });
  testing::ExpectSameTraces(kernel, libsysv, tag);
  EXPECT_EQ(testing::CountLines(libsysv, "failed"), 0);
  EXPECT_EQ(kernel.size(), 19u);
}

TEST(InfoDifferentialTest, ShmInfoMatchesTheKernelAfterOthersChanges) {
  RunBoth([] { return ShmOps(testing::KernelShm()); }, [] { return ShmOps(testing::LibsysvShm()); },
          core::Sysctl::kShmmni, "shmmni", "100", "info-shm");
}

TEST(InfoDifferentialTest, SemInfoMatchesTheKernelAfterOthersChanges) {
  RunBoth([] { return SemOps(testing::KernelSem()); }, [] { return SemOps(testing::LibsysvSem()); },
          core::Sysctl::kSem, "sem", "250 32000 32 128", "info-sem");
}

TEST(InfoDifferentialTest, MsgInfoMatchesTheKernelAfterOthersChanges) {
  RunBoth([] { return MsgOps(testing::KernelMsg()); }, [] { return MsgOps(testing::LibsysvMsg()); },
          core::Sysctl::kMsgmni, "msgmni", "50", "info-msg");
}

// semget of an existing key is answered by the library when it has got the
// key before (core/ipc/local_get.h), checking nsems against SEMMSL as the
// daemon published it: after another process lowers SEMMSL, the same call
// must fail as the kernel's does (the header's SEMMSL was written only at
// the daemon's start before issue #14's table limits).
void SemmslScript(const testing::SemApi& api, const std::function<std::string()>& set_limits, TraceWriter& out) {
  int step = 0;
  auto record = [&](const std::string& line) { out.Line(step++, absl::StrCat("sem: ", line)); };
  const int id = api.semget(kKey, 500, IPC_CREAT | IPC_EXCL | 0600);
  record(absl::StrCat("create 500: ", id >= 0 ? "made" : Result(id)));
  auto get = [&](int nsems) {
    errno = 0;
    const int r = api.semget(kKey, nsems, 0);
    record(absl::StrCat("get nsems ", nsems, ": ", r == id ? std::string("the id") : Result(r)));
  };
  const int sizes[] = {0, 200, 250, 251, 300, 500, 501};
  for (int nsems : sizes) get(nsems);
  record(absl::StrCat("another process writes sem: ", InOtherProcess(false, set_limits)));
  for (int nsems : sizes) get(nsems);
  record(absl::StrCat("remove: ", Result(api.semctl(id, 0, IPC_RMID))));
}

TEST(InfoDifferentialTest, SemgetAfterAnotherLowersSemmslMatchesTheKernel) {
  ASSERT_TRUE(testing::CanUseFreshKernelNamespace()) << "needs a private kernel IPC namespace";
  const std::string text = "250 32000 32 128";
  const std::vector<std::string> kernel =
      testing::TraceInChild("kernel", [] { return testing::EnterFreshKernelNamespace(); }, [&](TraceWriter& out) {
        SemmslScript(testing::KernelSem(), [&] { return KernelSysctl("sem", text); }, out);
      });
  const std::string dir = testing::FreshNamespaceDir("semmsl");
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0) << std::strerror(errno);
  testing::TestDaemon daemon(dir);
  daemon.Start();
  const std::vector<std::string> libsysv = testing::TraceInChild("libsysv", [] { return true; }, [&](TraceWriter& out) {
    SemmslScript(testing::LibsysvSem(), [&] { return LibsysvSysctl(dir, core::Sysctl::kSem, text); }, out);
  });
  testing::ExpectSameTraces(kernel, libsysv, "semmsl");
  EXPECT_EQ(kernel.size(), 17u);
}

}  // namespace
}  // namespace sysv
