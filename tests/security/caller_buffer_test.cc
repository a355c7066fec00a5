// Caller buffers under the queue lock (issue #14, msg/1p1c/8KiB): msgsnd
// and msgrcv copy a message's text straight between the caller's buffer
// and the queue's region while holding the queue's lock, through a copy
// that turns a fault into EFAULT (core::MsgSource, core::MsgSink). A user
// who may use a queue can hand it any pointer: one that faults half way,
// in the middle of a message's chain of blocks, with the lock held.
//
// The attack: B, another user of A's 0666 queue, sends texts and receives
// into buffers that run into a PROT_NONE page, while A waits in msgrcv on
// the same queue. The kernel answers EFAULT (msgsnd sends nothing; msgrcv
// takes the message, then faults) and A is served on. Each test runs the
// same sequence against the kernel and against libsysv and checks that
// both give the same results, and that afterwards A sends and receives
// without waiting (no lock left held) and IPC_STAT counts what is really
// queued (nothing half written).
//
// Before the change these paths never held the lock while touching the
// caller's memory (a private copy first), so the tests pass on main too:
// they guard the new copy. Checked that they can fail: a receive that
// ignored the fault (returned the size) failed steps 6 and 9 (code 18), and
// the first version of the new send path, which read the text again after
// the sleep, failed TextIsReadBeforeTheSenderSleeps with 4.
#include <signal.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/reliability/as_user.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

using testing::RunAs;
using testing::RunAsForValue;
using testing::User;

// Ids 3750-3799 are this suite's.
const testing::Identity kOwnerA = User("buffer-owner-a", 3750, 3750);
const testing::Identity kAttackerB = User("buffer-attacker-b", 3751, 3751);

constexpr size_t kText = 8192;

// One implementation of the four calls: the kernel's or libsysv's.
struct Api {
  const char* name;
  int (*msgget)(key_t, int);
  int (*msgsnd)(int, const void*, size_t, int);
  ssize_t (*msgrcv)(int, void*, size_t, long, int);
  int (*msgctl)(int, int, struct msqid_ds*);
};
const Api kKernel{"kernel", &::msgget, &::msgsnd, &::msgrcv, &::msgctl};
const Api kLibsysv{"libsysv", &sysv_msgget, &sysv_msgsnd, &sysv_msgrcv, &sysv_msgctl};

// Two pages and a PROT_NONE third: a struct msgbuf placed so that its type
// and the first `good` bytes of its text are readable and writable, and the
// rest runs into the PROT_NONE page.
class TrapBuffer {
 public:
  TrapBuffer() {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    base_ = static_cast<char*>(mmap(nullptr, 3 * page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (base_ != MAP_FAILED) mprotect(base_ + 2 * page_, page_, PROT_NONE);
  }
  ~TrapBuffer() {
    if (base_ != MAP_FAILED) munmap(base_, 3 * page_);
  }
  bool ok() const { return base_ != MAP_FAILED; }
  // A msgbuf whose text has `good` accessible bytes (good < 2 pages - 8).
  char* WithGoodText(size_t good) { return base_ + 2 * page_ - good - sizeof(long); }

 private:
  size_t page_ = 0;
  char* base_ = static_cast<char*>(MAP_FAILED);
};

// A message of type `type` whose text is `fill` repeated.
struct BigMessage {
  long mtype;
  char text[kText];
};
void Fill(BigMessage* m, long type, char fill) {
  m->mtype = type;
  std::memset(m->text, fill, sizeof(m->text));
}

// B's attack on queue `id`: the results as one code, the same for an
// implementation that behaves as the kernel. Each step's result is a digit.
int Attack(const Api& api, int id) {
  TrapBuffer trap;
  if (!trap.ok()) return -2;
  int code = 0;
  auto step = [&code](bool as_kernel) { code = code * 2 + (as_kernel ? 0 : 1); };
  // 1. msgsnd of 8 KiB whose text faults after 5000 bytes, and one whose
  // text faults at once: EFAULT, nothing sent.
  char* half = trap.WithGoodText(5000);
  *reinterpret_cast<long*>(half) = 7;
  std::memset(half + sizeof(long), 'b', 5000);
  step(api.msgsnd(id, half, kText, IPC_NOWAIT) == -1 && errno == EFAULT);
  char* none = trap.WithGoodText(0);
  *reinterpret_cast<long*>(none) = 7;
  step(api.msgsnd(id, none, kText, 0) == -1 && errno == EFAULT);
  // 2. A waits in msgrcv (the parent's child, below): B's bad send must not
  // reach it, nor end its wait. A good one does.
  BigMessage good;
  Fill(&good, 8, 'g');
  step(api.msgsnd(id, half, kText, 0) == -1 && errno == EFAULT);
  step(api.msgsnd(id, &good, kText, 0) == 0);
  // 3. msgrcv into a buffer whose text faults after 100 bytes: the message
  // is taken, then EFAULT (store_msg() after the message left the queue).
  Fill(&good, 9, 'h');
  step(api.msgsnd(id, &good, kText, IPC_NOWAIT) == 0);
  char* into = trap.WithGoodText(100);
  step(api.msgrcv(id, into, kText, 9, IPC_NOWAIT) == -1 && errno == EFAULT);
  // The type, and the text up to the fault: how far before the fault the
  // copy got is not specified (the kernel's copy_to_user() and the C
  // library's memcpy both may stop short of it), its start is.
  step(*reinterpret_cast<long*>(into) == 9 && into[sizeof(long)] == 'h');
  // 4. The same through the first-message path (msgtyp 0).
  step(api.msgsnd(id, &good, kText, IPC_NOWAIT) == 0);
  step(api.msgrcv(id, into, kText, 0, IPC_NOWAIT) == -1 && errno == EFAULT);
  // 5. The queue is empty, its counts say so.
  struct msqid_ds ds {};
  step(api.msgctl(id, IPC_STAT, &ds) == 0 && ds.msg_qnum == 0 && ds.__msg_cbytes == 0);
  return code;
}

class CallerBufferTest : public testing::SharedNamespaceTest {
 protected:
  CallerBufferTest() : SharedNamespaceTest("caller-buffer") {}

  // The attack against `api`: 0 when every step gave the kernel's result.
  static int RunAgainst(const Api& api) {
    const int id = RunAsForValue(kOwnerA, [&] { return api.msgget(IPC_PRIVATE, IPC_CREAT | 0666); });
    if (id < 0) return -1;
    // A waits for type 8 (step 2), for up to 10 s.
    const pid_t waiter = fork();
    if (waiter == 0) {
      _exit(RunAs(kOwnerA, [&] {
        alarm(10);
        BigMessage got{};
        if (api.msgrcv(id, &got, kText, 8, 0) != static_cast<ssize_t>(kText)) return 1;
        return got.mtype == 8 && got.text[0] == 'g' && got.text[kText - 1] == 'g' ? 0 : 2;
      }));
    }
    usleep(100 * 1000);  // A is asleep in msgrcv (a later start only weakens step 2)
    const int attack = RunAsForValue(kAttackerB, [&] { return Attack(api, id); });
    int status = 0;
    waitpid(waiter, &status, 0);
    const int waited = WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
    // A, after the attack: no lock left held (IPC_NOWAIT calls succeed at
    // once), a full message in and out, then the queue removed.
    const int after = RunAs(kOwnerA, [&] {
      BigMessage m;
      Fill(&m, 3, 'a');
      if (api.msgsnd(id, &m, kText, IPC_NOWAIT) != 0) return 1;
      BigMessage got{};
      if (api.msgrcv(id, &got, kText, 0, IPC_NOWAIT) != static_cast<ssize_t>(kText)) return 2;
      if (got.mtype != 3 || std::memcmp(got.text, m.text, kText) != 0) return 3;
      return api.msgctl(id, IPC_RMID, nullptr) == 0 ? 0 : 4;
    });
    EXPECT_EQ(waited, 0) << api.name << ": A's wait (1: not served, 2: a wrong message, 114: never woken)";
    EXPECT_EQ(after, 0) << api.name << ": A after the attack (1, 2: a lock left held or a full queue)";
    return attack;
  }
};

TEST_F(CallerBufferTest, FaultingBuffersGiveTheKernelsResults) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  const int kernel = RunAgainst(kKernel);
  ASSERT_EQ(kernel, 0) << "the kernel's results are this test's reference: steps that differed, as bits";
  EXPECT_EQ(RunAgainst(kLibsysv), 0) << "steps where libsysv differed from the kernel, as bits (first step highest)";
}

// The kernel reads msgsnd's text once, before it sleeps for room: a buffer
// rewritten while the call sleeps does not change what it sends
// (MsgSource::keep).
int RewrittenWhileAsleep(const Api& api) {
  const int id = api.msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  if (id < 0) return -1;
  struct msqid_ds ds {};
  if (api.msgctl(id, IPC_STAT, &ds) != 0) return -2;
  ds.msg_qbytes = 2 * kText;
  if (api.msgctl(id, IPC_SET, &ds) != 0) return -3;
  BigMessage m;
  Fill(&m, 1, 'x');
  if (api.msgsnd(id, &m, kText, 0) != 0 || api.msgsnd(id, &m, kText, 0) != 0) return -4;
  BigMessage later;
  Fill(&later, 2, 'o');  // "old"
  int sent = -1;
  std::thread sender([&] { sent = api.msgsnd(id, &later, kText, 0); });
  usleep(200 * 1000);  // the sender is asleep for room
  std::memset(later.text, 'n', kText);  // "new"
  BigMessage got{};
  int result = 0;
  if (api.msgrcv(id, &got, kText, 0, 0) != static_cast<ssize_t>(kText)) result = 1;
  sender.join();
  if (sent != 0) result = 2;
  if (result == 0 && api.msgrcv(id, &got, kText, 2, IPC_NOWAIT) != static_cast<ssize_t>(kText)) result = 3;
  if (result == 0 && got.text[0] != 'o') result = got.text[0] == 'n' ? 4 : 5;
  api.msgctl(id, IPC_RMID, nullptr);
  return result;
}

TEST_F(CallerBufferTest, TextIsReadBeforeTheSenderSleeps) {
  ASSERT_EQ(RewrittenWhileAsleep(kKernel), 0) << "the kernel";
  EXPECT_EQ(RewrittenWhileAsleep(kLibsysv), 0) << "libsysv (4: sent the text as rewritten during the sleep)";
}

}  // namespace
}  // namespace sysv
