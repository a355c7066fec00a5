// Issue #13, items 1 and 5: what read-only and write-only queue users can do
// is the kernel's, now that the daemon serves them (they no longer map the
// queue writable). One scenario runs against the kernel (in a private IPC
// namespace) and against a fresh sysvipcd, with the same eleven users: the
// owner A and ten others, each of whom has exactly the permission the
// queue's mode gives "other" (0644: read only; 0622: write only). Every
// result, errno, received message and IPC_STAT field (pids named by the
// process that owns them) is compared line by line; so is what each of the
// others holds of the queue at the end of its process (descriptors and
// mappings): nothing writable for a reader, nothing at all for a writer.
//
// 0644: a reader's msgrcv (typed, E2BIG, MSG_NOERROR), MSG_COPY and
// IPC_STAT; msgsnd is EACCES. Blocked readers (served by the daemon) and a
// blocked owner (on the region) are handed messages in the kernel's order
// (pipelined_send(): the first waiting receiver that wants it, whoever
// serves it); a waiting reader whose buffer is too small gets E2BIG and the
// message stays queued; a signal gives EINTR; IPC_SET taking the read
// permission away wakes a waiting reader with EACCES; IPC_RMID wakes the
// waiting readers with EIDRM.
//
// 0622: a writer's msgsnd (also one larger than a request holds) goes to a
// waiting owner or into the queue; msgrcv, MSG_COPY and IPC_STAT are
// EACCES; a writer blocked on a full queue completes once the owner made
// room, gets EINTR on a signal and EIDRM on IPC_RMID.
#include <grp.h>
#include <signal.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "tests/reliability/as_user.h"
#include "tests/reliability/ipc_identities.h"
#include "tests/testing/differential.h"
#include "tests/testing/msg_api.h"
#include "tests/testing/process_state.h"
#include "tests/security/backend_guarantees.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

using testing::MsgApi;
using testing::TraceWriter;

// Ids 3000-3099 are this suite's: the owner and ten other users.
constexpr uid_t kOwnerUid = 3010;
constexpr uid_t kFirstOtherUid = 3011;
constexpr int kOthers = 10;

struct Message {
  long mtype;
  char mtext[4096];
};

std::string Errno(long rc) { return rc == -1 ? std::string(strerrorname_np(errno)) : absl::StrCat(rc); }

void OnSignal(int) {}

class Scenario {
 public:
  Scenario(const MsgApi& api, bool is_kernel, TraceWriter& out) : api_(api), is_kernel_(is_kernel), out_(out) {}

  void Run() {
    ReaderQueue();
    WriterQueue();
  }

 private:
  // A process of the scenario running as `uid`; its result comes back
  // through a pipe.
  struct Child {
    std::string label;
    pid_t pid = -1;
    int fd = -1;
  };

  void Line(const std::string& text) { out_.Line(step_++, text); }

  Child Start(const std::string& label, uid_t uid, const std::function<std::string()>& body) {
    int fds[2];
    if (pipe(fds) != 0) return Child{label};
    const pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      names_[getpid()] = label;
      if (setgroups(0, nullptr) != 0 || setresgid(uid, uid, uid) != 0 || setresuid(uid, uid, uid) != 0) _exit(77);
      struct sigaction action {};
      action.sa_handler = OnSignal;  // no SA_RESTART: the call ends with EINTR
      sigaction(SIGUSR1, &action, nullptr);
      std::string result = body();
      // What this process holds of the queue beyond its permission: a
      // writable region (a reader), anything of it (a writer only). The
      // kernel hands out nothing.
      if (uid != kOwnerUid && queue_ >= 0) {
        const std::string held = is_kernel_ ? "none" : testing::HeldAccess("msg", queue_);
        const bool beyond = held == "rw" || (held != "none" && others_may_ == "none");
        result += beyond ? absl::StrCat(" | holds ", held, " beyond its permission") : "";
      }
      (void)!write(fds[1], result.data(), result.size());
      _exit(0);
    }
    close(fds[1]);
    names_[pid] = label;
    return Child{label, pid, fds[0]};
  }

  // Waits for `child` and traces its result.
  void Finish(Child& child) {
    int status = 0;
    while (waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::string result;
    char buffer[256];
    ssize_t n;
    while ((n = read(child.fd, buffer, sizeof(buffer))) > 0) result.append(buffer, static_cast<size_t>(n));
    close(child.fd);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) result += absl::StrFormat(" (child status %d)", status);
    Line(absl::StrCat(child.label, ": ", result));
  }

  void RunNow(const std::string& label, uid_t uid, const std::function<std::string()>& body) {
    Child child = Start(label, uid, body);
    Finish(child);
  }

  // Until `child` sleeps in its call (at most 10 s; the trace says if not).
  // Where a wait on a read-only mapping polls (DragonFly), a reader's wait
  // is naps: a nap counts as the sleep.
  void WaitAsleep(const Child& child) {
    for (int i = 0; i < 2000; ++i) {
      if (testing::AsleepInIpcWait(child.pid)) return;
      if (!testing::ReadOnlyWaitsSleep() && testing::ProcessState(child.pid) == 'S' &&
          testing::WaitChannel(child.pid).find("nanosleep") != std::string::npos) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    Line(absl::StrCat(child.label, " never slept"));
  }

  std::string Name(pid_t pid) const {
    if (pid == 0) return "0";
    auto it = names_.find(pid);
    return it == names_.end() ? "unknown" : it->second;
  }

  std::string Receive(int id, size_t size, long type, int flags) {
    Message m{};
    const ssize_t n = api_.msgrcv(id, &m, size, type, flags);
    if (n < 0) return Errno(n);
    return absl::StrFormat("%d type %d \"%s\"", n, m.mtype, std::string(m.mtext, std::min<size_t>(n, 16)));
  }

  std::string Send(int id, long type, const std::string& text, int flags) {
    Message m{};
    m.mtype = type;
    std::memcpy(m.mtext, text.data(), text.size());
    return Errno(api_.msgsnd(id, &m, text.size(), flags));
  }

  std::string Stat(int id) {
    struct msqid_ds ds {};
    const int rc = api_.msgctl(id, IPC_STAT, &ds);
    if (rc != 0) return Errno(rc);
    return absl::StrFormat("mode=%04o qnum=%u cbytes=%u qbytes=%u lspid=%s lrpid=%s stime=%s rtime=%s",
                           ds.msg_perm.mode & 0777, ds.msg_qnum, ds.__msg_cbytes, ds.msg_qbytes,
                           Name(ds.msg_lspid), Name(ds.msg_lrpid), ds.msg_stime != 0 ? "set" : "0",
                           ds.msg_rtime != 0 ? "set" : "0");
  }

  std::string SetMode(int id, int mode, uint64_t qbytes = 0) {
    struct msqid_ds ds {};
    if (api_.msgctl(id, IPC_STAT, &ds) != 0) return Errno(-1);
    ds.msg_perm.mode = static_cast<unsigned short>(mode);
    if (qbytes != 0) ds.msg_qbytes = qbytes;
    return Errno(api_.msgctl(id, IPC_SET, &ds));
  }

  // A's new queue of `mode` (its id, traced only as made or not).
  int Create(int mode) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    Child child = Start("A create", kOwnerUid, [&] {
      const int id = api_.msgget(IPC_PRIVATE, IPC_CREAT | mode);
      (void)!write(fds[1], &id, sizeof(id));
      return Errno(id < 0 ? -1 : 0);
    });
    close(fds[1]);
    int id = -1;
    if (read(fds[0], &id, sizeof(id)) != sizeof(id)) id = -1;
    close(fds[0]);
    Finish(child);
    return id;
  }

  static uid_t Other(int n) { return kFirstOtherUid + static_cast<uid_t>(n - 1); }

  void ReaderQueue() {
    Line("--- 0644: the others may read only");
    const int id = Create(0644);
    if (id < 0) return;
    queue_ = id;
    others_may_ = "ro";
    RunNow("A sends two", kOwnerUid, [&] {
      std::string r = Send(id, 1, "a1", 0);
      return r + " " + Send(id, 2, "a2", 0);
    });
    // One call after the other (the operands of one expression are not).
    RunNow("u1 reads", Other(1), [&] {
      std::string r = "copy#1 " + Receive(id, 64, 1, IPC_NOWAIT | MSG_COPY);
      r += "; copy#5 " + Receive(id, 64, 5, IPC_NOWAIT | MSG_COPY);
      r += "; type2 " + Receive(id, 64, 2, IPC_NOWAIT);
      r += "; send " + Send(id, 3, "u1", IPC_NOWAIT);
      r += "; small " + Receive(id, 1, 0, IPC_NOWAIT);
      r += "; noerror " + Receive(id, 1, 0, IPC_NOWAIT | MSG_NOERROR);
      return r + "; empty " + Receive(id, 64, 0, IPC_NOWAIT);
    });
    RunNow("u2 stat", Other(2), [&] { return Stat(id); });

    // Wake order: served readers and a region receiver (the owner), queued
    // in this order, are handed the next messages by the kernel's rule.
    Child u3 = Start("u3 waits any", Other(3), [&] { return Receive(id, 64, 0, 0); });
    WaitAsleep(u3);
    Child a2 = Start("A2 waits any", kOwnerUid, [&] { return Receive(id, 64, 0, 0); });
    WaitAsleep(a2);
    Child u4 = Start("u4 waits any", Other(4), [&] { return Receive(id, 64, 0, 0); });
    WaitAsleep(u4);
    Child u5 = Start("u5 waits type 7", Other(5), [&] { return Receive(id, 64, 7, 0); });
    WaitAsleep(u5);
    RunNow("A sends x7 x1 x2 y7", kOwnerUid, [&] {
      std::string r = Send(id, 7, "x7", 0);
      r += Send(id, 1, "x1", 0);
      r += Send(id, 1, "x2", 0);
      return r + Send(id, 7, "y7", 0);
    });
    Finish(u3);
    Finish(a2);
    Finish(u4);
    Finish(u5);
    RunNow("u2 stat", Other(2), [&] { return Stat(id); });

    // A waiting reader whose buffer is too small: E2BIG; the message stays.
    Child u6 = Start("u6 waits, 2-byte buffer", Other(6), [&] { return Receive(id, 2, 0, 0); });
    WaitAsleep(u6);
    RunNow("A sends long", kOwnerUid, [&] { return Send(id, 4, "long", 0); });
    Finish(u6);
    RunNow("u7 copies", Other(7), [&] {
      std::string r = Receive(id, 64, 0, IPC_NOWAIT | MSG_COPY);
      return r + " " + Stat(id);
    });

    // A signal.
    Child u8 = Start("u8 waits type 9", Other(8), [&] { return Receive(id, 64, 9, 0); });
    WaitAsleep(u8);
    kill(u8.pid, SIGUSR1);
    Finish(u8);

    // IPC_SET takes the read permission away: the waiter looks again.
    Child u9 = Start("u9 waits type 9", Other(9), [&] { return Receive(id, 64, 9, 0); });
    WaitAsleep(u9);
    RunNow("A IPC_SET 0600", kOwnerUid, [&] { return SetMode(id, 0600); });
    Finish(u9);
    RunNow("A IPC_SET 0644", kOwnerUid, [&] { return SetMode(id, 0644); });

    // IPC_RMID wakes every waiter.
    Child u10 = Start("u10 waits type 9", Other(10), [&] { return Receive(id, 64, 9, 0); });
    WaitAsleep(u10);
    Child u1 = Start("u1 waits any, MSG_EXCEPT 4", Other(1), [&] { return Receive(id, 64, 4, MSG_EXCEPT); });
    WaitAsleep(u1);
    RunNow("A stat", kOwnerUid, [&] { return Stat(id); });
    RunNow("A IPC_RMID", kOwnerUid, [&] { return Errno(api_.msgctl(id, IPC_RMID, nullptr)); });
    Finish(u10);
    Finish(u1);
  }

  void WriterQueue() {
    Line("--- 0622: the others may write only");
    const int id = Create(0622);
    if (id < 0) return;
    queue_ = id;
    others_may_ = "none";
    RunNow("u1 writes", Other(1), [&] {
      std::string r = "send " + Send(id, 1, "w1", IPC_NOWAIT);
      r += "; receive " + Receive(id, 64, 0, IPC_NOWAIT);
      r += "; copy " + Receive(id, 64, 0, IPC_NOWAIT | MSG_COPY);
      return r + "; stat " + Stat(id);
    });
    // Larger than one request holds.
    const std::string big(3000, 'b');
    RunNow("u2 sends 3000 bytes", Other(2), [&] { return Send(id, 2, big, 0); });
    RunNow("A receives type 2", kOwnerUid, [&] {
      Message m{};
      const ssize_t n = api_.msgrcv(id, &m, sizeof(m.mtext), 2, IPC_NOWAIT);
      if (n < 0) return Errno(n);
      return absl::StrFormat("%d type %d intact %d", n, m.mtype, std::string(m.mtext, n) == big);
    });
    // Pipelined to the waiting owner.
    Child a2 = Start("A2 waits type 5", kOwnerUid, [&] { return Receive(id, 64, 5, 0); });
    WaitAsleep(a2);
    RunNow("u3 sends w5", Other(3), [&] { return Send(id, 5, "w5", 0); });
    Finish(a2);
    RunNow("A stat", kOwnerUid, [&] { return Stat(id); });

    // A full queue: 16 bytes, w1 (2) + 14.
    RunNow("A IPC_SET qbytes 16", kOwnerUid, [&] { return SetMode(id, 0622, 16); });
    RunNow("u4 fills", Other(4), [&] { return Send(id, 4, std::string(14, 'f'), IPC_NOWAIT); });
    RunNow("u5 nowait", Other(5), [&] { return Send(id, 5, "x", IPC_NOWAIT); });
    Child u5 = Start("u5 waits to send 4", Other(5), [&] { return Send(id, 5, "wait", 0); });
    WaitAsleep(u5);
    RunNow("A takes w1", kOwnerUid, [&] { return Receive(id, 64, 0, IPC_NOWAIT); });
    RunNow("A takes the 14", kOwnerUid, [&] { return Receive(id, 64, 0, IPC_NOWAIT); });
    Finish(u5);
    RunNow("A stat", kOwnerUid, [&] {
      std::string r = Stat(id);
      return r + " then " + Receive(id, 64, 0, IPC_NOWAIT);
    });

    // Full again: a signal, then IPC_RMID.
    RunNow("u6 fills", Other(6), [&] { return Send(id, 6, std::string(16, 'g'), IPC_NOWAIT); });
    Child u7 = Start("u7 waits to send", Other(7), [&] { return Send(id, 7, "s", 0); });
    WaitAsleep(u7);
    kill(u7.pid, SIGUSR1);
    Finish(u7);
    Child u8 = Start("u8 waits to send", Other(8), [&] { return Send(id, 8, "r", 0); });
    WaitAsleep(u8);
    Child u9 = Start("u9 waits to send", Other(9), [&] { return Send(id, 9, "r", 0); });
    WaitAsleep(u9);
    RunNow("A stat", kOwnerUid, [&] { return Stat(id); });
    RunNow("A IPC_RMID", kOwnerUid, [&] { return Errno(api_.msgctl(id, IPC_RMID, nullptr)); });
    Finish(u8);
    Finish(u9);
  }

  const MsgApi& api_;
  bool is_kernel_;
  TraceWriter& out_;
  int step_ = 0;
  int queue_ = -1;
  std::string others_may_;  // the access the others' permission allows
  std::map<pid_t, std::string> names_;
};

TEST(QueueAccessDifferentialTest, ReadOnlyAndWriteOnlyUsersSeeWhatTheKernelGives) {
  SYSV_SKIP_UNLESS_PERMISSIONS_CAN_BE_COMPARED();
  static_assert(kOthers == 10);
  const std::vector<std::string> kernel = testing::TraceInChild(
      "kernel", [] { return testing::EnterFreshKernelNamespace(); },
      [&](TraceWriter& out) { Scenario(testing::KernelMsg(), true, out).Run(); });
  testing::TestDaemon daemon(testing::FreshNamespaceDir("queue-access-diff"));
  daemon.Start();
  ASSERT_EQ(chmod(daemon.dir().c_str(), 0755), 0);  // other users reach the socket
  const std::vector<std::string> libsysv = testing::TraceInChild(
      "libsysv", [] { return true; }, [&](TraceWriter& out) { Scenario(testing::LibsysvMsg(), false, out).Run(); });
  // The scenario did what it says on the kernel.
  EXPECT_GE(testing::CountLines(kernel, "EIDRM"), 4);
  EXPECT_GE(testing::CountLines(kernel, "EINTR"), 2);
  EXPECT_EQ(testing::CountLines(kernel, "never slept"), 0);
  testing::ExpectSameTraces(kernel, libsysv, "queue-access");
  for (const std::string& line : libsysv) std::printf("libsysv %s\n", line.c_str());
}

}  // namespace
}  // namespace sysv
