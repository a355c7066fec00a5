// Every ipc_perm rule of message queues, for the identities and modes of
// ipc_identities.h, side by side with the kernel: msgget with each access
// flag, msgsnd (write permission), msgrcv (read permission), IPC_STAT and
// MSG_STAT (read), MSG_STAT_ANY (none), IPC_SET and IPC_RMID (owner or
// creator). Every result and errno must be the kernel's.
//
// Descriptors: a process the kernel would refuse both sending and
// receiving never obtains one; and none obtains more than its permission
// (issue #13): a writable region only with read and write permission, a
// read-only one with read permission, nothing with write permission only.
#include <sys/msg.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "tests/reliability/as_user.h"
#include "tests/reliability/ipc_identities.h"
#include "tests/testing/differential.h"
#include "tests/testing/msg_api.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

using testing::Identities;
using testing::Identity;
using testing::kCreator;
using testing::kCreatorGroup;
using testing::kModes;
using testing::kObjectGroup;
using testing::kOwner;
using testing::MsgApi;
using testing::TraceWriter;
using testing::User;

std::string Result(long rc) { return rc == -1 ? std::string(strerrorname_np(errno)) : absl::StrCat(rc); }

struct Message {
  long mtype;
  char mtext[16];
};

class MsgScenario {
 public:
  MsgScenario(const MsgApi& api, bool is_kernel, TraceWriter& out) : api_(api), is_kernel_(is_kernel), out_(out) {}

  void Run() {
    for (size_t m = 0; m < std::size(kModes); ++m) {
      const int mode = kModes[m];
      const key_t key = 0x7500 + static_cast<key_t>(m);
      if (!Create(key, mode, absl::StrFormat("mode=%04o", mode))) continue;
      for (const Identity& who : Identities()) {
        const int status = testing::RunAs(who, [&] {
          Probe(mode, key, absl::StrFormat("mode=%04o who=%s", mode, who.name));
          return 0;
        });
        if (status != 0) Line(absl::StrFormat("mode=%04o who=%s child status %d", mode, who.name, status));
      }
      RemoveAsRoot(key);
    }
    // A verdict kept from one call must not outlive a permission change:
    // the owner sends, takes its own write permission away with IPC_SET
    // (and so does the owner's group), sends again, gives it back, sends.
    if (Create(0x7700, 0660, "revoke")) {
      testing::RunAs(User("owner", kOwner, kObjectGroup), [&] {
        const int id = api_.msgget(0x7700, 0);
        Message m{8, "again"};
        // Twice: the first call opens the queue, the second keeps a verdict.
        for (int i = 0; i < 2; ++i) {
          Line(absl::StrCat("revoke msgsnd -> ", Result(api_.msgsnd(id, &m, 6, IPC_NOWAIT))));
        }
        msqid_ds ds{};
        api_.msgctl(id, IPC_STAT, &ds);
        for (int mode : {0440, 0660}) {
          ds.msg_perm.mode = static_cast<unsigned short>(mode);
          Line(absl::StrFormat("revoke IPC_SET %04o -> %s", mode, Result(api_.msgctl(id, IPC_SET, &ds))));
          Line(absl::StrCat("revoke msgsnd -> ", Result(api_.msgsnd(id, &m, 6, IPC_NOWAIT))));
          Message got{};
          Line(absl::StrCat("revoke msgrcv -> ", Result(api_.msgrcv(id, &got, 6, 0, IPC_NOWAIT) < 0 ? -1 : 0)));
        }
        return 0;
      });
      RemoveAsRoot(0x7700);
    }
    for (size_t i = 0; i < Identities().size(); ++i) {
      const Identity& who = Identities()[i];
      const key_t key = 0x7600 + static_cast<key_t>(i);
      const std::string where = absl::StrCat("rmid who=", who.name);
      if (!Create(key, 0600, where)) continue;
      testing::RunAs(who, [&] {
        Line(absl::StrCat(where, " msgctl(IPC_RMID) -> ", Result(api_.msgctl(api_.msgget(key, 0), IPC_RMID, nullptr))));
        return 0;
      });
      Line(absl::StrCat(where, " still there: ", api_.msgget(key, 0) >= 0));
      RemoveAsRoot(key);
    }
  }

 private:
  void Line(const std::string& text) { out_.Line(step_++, text); }

  // As the creator: a queue holding one message, given to kOwner and
  // kObjectGroup with `mode`.
  bool Create(key_t key, int mode, const std::string& where) {
    const int status = testing::RunAs(User("creator", kCreator, kCreatorGroup), [&] {
      const int id = api_.msgget(key, IPC_CREAT | IPC_EXCL | 0600);
      if (id < 0) return 1;
      Message m{7, "first"};
      if (api_.msgsnd(id, &m, 6, IPC_NOWAIT) != 0) return 2;
      msqid_ds ds{};
      if (api_.msgctl(id, IPC_STAT, &ds) != 0) return 3;
      ds.msg_perm.uid = kOwner;
      ds.msg_perm.gid = kObjectGroup;
      ds.msg_perm.mode = static_cast<unsigned short>(mode);
      return api_.msgctl(id, IPC_SET, &ds) == 0 ? 0 : 4;
    });
    Line(absl::StrCat(where, " create: ", status));
    return status == 0;
  }

  void RemoveAsRoot(key_t key) {
    const int id = api_.msgget(key, 0);
    if (id >= 0) api_.msgctl(id, IPC_RMID, nullptr);
  }

  void Probe(int mode, key_t key, const std::string& where) {
    auto line = [&](const std::string& what, const std::string& result) {
      Line(absl::StrCat(where, " ", what, " -> ", result));
    };
    const int id = api_.msgget(key, 0);
    line("msgget(0)", Result(id < 0 ? -1 : 0));
    for (int flag : {0400, 0200, 0600, 0100, 0004, 0040}) {
      line(absl::StrFormat("msgget(%04o)", flag), Result(api_.msgget(key, flag) < 0 ? -1 : 0));
    }
    line("msgget(IPC_CREAT|IPC_EXCL)", Result(api_.msgget(key, IPC_CREAT | IPC_EXCL | 0600) < 0 ? -1 : 0));
    msqid_ds ds{};
    const int stat = api_.msgctl(id, IPC_STAT, &ds);
    line("msgctl(IPC_STAT)", stat == 0 ? absl::StrFormat("uid=%u gid=%u cuid=%u cgid=%u mode=%04o qnum=%u",
                                                         ds.msg_perm.uid, ds.msg_perm.gid, ds.msg_perm.cuid,
                                                         ds.msg_perm.cgid, ds.msg_perm.mode, ds.msg_qnum)
                                       : Result(stat));
    for (auto [cmd, name] : {std::pair{MSG_STAT, "MSG_STAT"}, std::pair{MSG_STAT_ANY, "MSG_STAT_ANY"}}) {
      const int rc = api_.msgctl(id & 0x7fff, cmd, &ds);
      line(absl::StrCat("msgctl(", name, ")"), rc < 0 ? Result(rc) : (rc == id ? "the id" : "another id"));
    }
    Message m{3, "probe"};
    errno = 0;
    const int sent = api_.msgsnd(id, &m, 6, IPC_NOWAIT);
    const int send_errno = errno;
    line("msgsnd", Result(sent));
    Message got{};
    errno = 0;
    const long received = api_.msgrcv(id, &got, sizeof(got.mtext), 0, IPC_NOWAIT);
    const int receive_errno = errno;
    line("msgrcv", received < 0 ? Result(received) : absl::StrFormat("%d type %d", received, got.mtype));
    msqid_ds set{};
    set.msg_perm.uid = kOwner;
    set.msg_perm.gid = kObjectGroup;
    set.msg_perm.mode = static_cast<unsigned short>(mode);  // what it is: IPC_SET changes nothing
    set.msg_qbytes = 16384;
    line("msgctl(IPC_SET)", Result(api_.msgctl(id, IPC_SET, &set)));
    // A process the kernel refuses both ways holds no descriptor.
    const bool refused_both = sent == -1 && send_errno == EACCES && received == -1 && receive_errno == EACCES;
    if (is_kernel_) {
      line("refused both ways", refused_both ? "yes" : "no");
      line("holds beyond its permission", "no");
    } else {
      const std::string held = testing::HeldAccess("msg", id);
      const bool holds = held != "none";
      line("refused both ways", refused_both ? (holds ? "yes, but holds a descriptor" : "yes") : "no");
      const bool may_write = sent == 0 || (send_errno != EACCES && send_errno != EINVAL);
      const bool may_read = received >= 0 || receive_errno == ENOMSG || receive_errno == E2BIG;
      const bool beyond = (held == "rw" && !(may_read && may_write)) || (held == "ro" && !may_read);
      line("holds beyond its permission", beyond ? absl::StrCat("yes: ", held) : "no");
    }
  }

  const MsgApi& api_;
  bool is_kernel_;
  TraceWriter& out_;
  int step_ = 0;
};

TEST(MsgPermissionTest, EveryIpcPermRuleMatchesTheKernel) {
  SYSV_SKIP_UNLESS_PERMISSIONS_CAN_BE_COMPARED();
  const std::vector<std::string> kernel = testing::TraceInChild(
      "kernel", [] { return testing::EnterFreshKernelNamespace(); },
      [&](TraceWriter& out) { MsgScenario(testing::KernelMsg(), true, out).Run(); });
  testing::TestDaemon daemon(testing::FreshNamespaceDir("msgperm"));
  daemon.Start();
  ASSERT_EQ(chmod(daemon.dir().c_str(), 0755), 0);  // other users reach the socket
  const std::vector<std::string> libsysv = testing::TraceInChild(
      "libsysv", [] { return true; }, [&](TraceWriter& out) { MsgScenario(testing::LibsysvMsg(), false, out).Run(); });
  auto count = [&](const std::string& text) { return testing::CountLines(kernel, text); };
  EXPECT_GT(count("-> EACCES"), 300);
  EXPECT_GT(count("-> EPERM"), 50);
  EXPECT_GT(count("refused both ways -> yes"), 20);
  EXPECT_GT(count("msgrcv -> 6 type"), 20);
  EXPECT_EQ(count("revoke msgsnd -> EACCES"), 1);
  std::printf("kernel trace: %zu lines, %ld EACCES, %ld EPERM\n", kernel.size(),
              static_cast<long>(count("-> EACCES")), static_cast<long>(count("-> EPERM")));
  testing::ExpectSameTraces(kernel, libsysv, "msg-permissions");
}

}  // namespace
}  // namespace sysv
