// Message queues with real processes on a real sysvipcd: removal and
// signals waking sleepers, a daemon restart and a growing queue keeping
// their messages, and SIGKILL chaos among senders and receivers with a
// checksum on every message.
#include <signal.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/testing/process_state.h"
#include "tests/testing/stamped_message.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

struct Message {
  long mtype;
  char mtext[256];
};

using testing::kStampedText;
using testing::Stamp;
using Stamped = testing::StampedMessage;
constexpr auto BodySum = testing::StampedSum;

class MsgIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_dir_ = testing::FreshNamespaceDir("msg");
    daemon_ = std::make_unique<testing::TestDaemon>(daemon_dir_);
    daemon_->Start();
  }
  void TearDown() override { daemon_.reset(); }

  // Waits until `pid` sleeps in the call under test (or exits).
  static void WaitAsleep(pid_t pid) {
    for (int i = 0; i < 10000 && !testing::AsleepInIpcWait(pid); ++i) usleep(500);
    usleep(5000);  // a wake-up may still be on its way to another CPU
  }

  std::string daemon_dir_;
  std::unique_ptr<testing::TestDaemon> daemon_;
};

// Forks a child running `body`, whose return value becomes its exit status.
template <typename Body>
pid_t Child(Body body) {
  const pid_t pid = fork();
  if (pid == 0) {
    alarm(20);
    _exit(body());
  }
  return pid;
}

int ExitCode(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST_F(MsgIntegrationTest, RemovalWakesEverySleeperWithEidrm) {
  const int id = sysv_msgget(IPC_PRIVATE, 0600);
  ASSERT_GE(id, 0);
  // Two receivers, and a sender on a full queue.
  std::vector<pid_t> sleepers;
  for (int i = 0; i < 2; ++i) {
    sleepers.push_back(Child([&] {
      Message m;
      return sysv_msgrcv(id, &m, sizeof(m.mtext), 7, 0) == -1 && errno == EIDRM ? 0 : 1;
    }));
    WaitAsleep(sleepers.back());
  }
  msqid_ds ds{};
  ASSERT_EQ(sysv_msgctl(id, IPC_STAT, &ds), 0);
  ds.msg_qbytes = 10;
  ASSERT_EQ(sysv_msgctl(id, IPC_SET, &ds), 0);
  Message m{1, "0123456789"};
  ASSERT_EQ(sysv_msgsnd(id, &m, 10, 0), 0);
  sleepers.push_back(Child([&] {
    Message big{1, "x"};
    return sysv_msgsnd(id, &big, 5, 0) == -1 && errno == EIDRM ? 0 : 1;
  }));
  WaitAsleep(sleepers.back());
  ASSERT_EQ(sysv_msgctl(id, IPC_RMID, nullptr), 0);
  for (pid_t pid : sleepers) EXPECT_EQ(ExitCode(pid), 0);
}

void OnSignal(int) {}

TEST_F(MsgIntegrationTest, ASignalHandlerInterruptsWithEintrEvenWithSaRestart) {
  const int id = sysv_msgget(IPC_PRIVATE, 0600);
  ASSERT_GE(id, 0);
  for (int restart = 0; restart < 2; ++restart) {
    const pid_t pid = Child([&] {
      struct sigaction action {};
      action.sa_handler = OnSignal;
      action.sa_flags = restart ? SA_RESTART : 0;
      sigaction(SIGUSR1, &action, nullptr);
      Message m;
      return sysv_msgrcv(id, &m, sizeof(m.mtext), 0, 0) == -1 && errno == EINTR ? 0 : 1;
    });
    WaitAsleep(pid);
    kill(pid, SIGUSR1);
    EXPECT_EQ(ExitCode(pid), 0) << "SA_RESTART " << restart;
  }
  msqid_ds ds{};
  ASSERT_EQ(sysv_msgctl(id, IPC_STAT, &ds), 0);
  EXPECT_EQ(ds.msg_qnum, 0u);
  // The interrupted receivers left nothing behind: a message sent now stays
  // in the queue (nobody is waiting for it).
  Message m{3, "left"};
  ASSERT_EQ(sysv_msgsnd(id, &m, 4, 0), 0);
  ASSERT_EQ(sysv_msgctl(id, IPC_STAT, &ds), 0);
  EXPECT_EQ(ds.msg_qnum, 1u);
  sysv_msgctl(id, IPC_RMID, nullptr);
}

// A message handed to a receiver that dies before it takes it (stopped,
// then killed) is not lost: it goes back into the queue when the daemon
// learns of the death.
TEST_F(MsgIntegrationTest, AMessageHandedToAReceiverThatDiesIsRequeued) {
  const int id = sysv_msgget(IPC_PRIVATE, 0600);
  ASSERT_GE(id, 0);
  const pid_t receiver = Child([&] {
    Message m;
    return sysv_msgrcv(id, &m, sizeof(m.mtext), 5, 0) >= 0 ? 0 : 1;
  });
  WaitAsleep(receiver);
  ASSERT_EQ(kill(receiver, SIGSTOP), 0);
  Message m{5, "handed over"};
  ASSERT_EQ(sysv_msgsnd(id, &m, 12, 0), 0);
  msqid_ds ds{};
  ASSERT_EQ(sysv_msgctl(id, IPC_STAT, &ds), 0);
  EXPECT_EQ(ds.msg_qnum, 0u) << "the message went straight to the waiting receiver";
  EXPECT_EQ(ds.msg_lrpid, receiver);
  ASSERT_EQ(kill(receiver, SIGKILL), 0);
  EXPECT_EQ(ExitCode(receiver), 128 + SIGKILL);
  // The daemon's exit work runs before its next answer: this IPC_STAT goes
  // to the daemon once the grant is dropped, and the message is back.
  Message got{};
  ssize_t n = -1;
  for (int i = 0; i < 200 && n < 0; ++i) {
    n = sysv_msgrcv(id, &got, sizeof(got.mtext), 5, IPC_NOWAIT);
    if (n < 0) usleep(5000);
  }
  ASSERT_EQ(n, 12);
  EXPECT_STREQ(got.mtext, "handed over");
  sysv_msgctl(id, IPC_RMID, nullptr);
}

TEST_F(MsgIntegrationTest, TheDaemonRestartingLosesNoMessage) {
  const int id = sysv_msgget(0x4d15, IPC_CREAT | 0600);
  ASSERT_GE(id, 0);
  for (uint32_t i = 0; i < 50; ++i) {
    Stamped m;
    Stamp(m, 1, i);
    ASSERT_EQ(sysv_msgsnd(id, &m, kStampedText, 0), 0);
  }
  daemon_->Kill();
  daemon_->Start();
  // Messages are read on mapped memory; msgctl goes to the new daemon.
  msqid_ds ds{};
  ASSERT_EQ(sysv_msgctl(id, IPC_STAT, &ds), 0);
  EXPECT_EQ(ds.msg_qnum, 50u);
  EXPECT_EQ(sysv_msgget(0x4d15, 0), id) << strerror(errno);
  for (uint32_t i = 0; i < 50; ++i) {
    Stamped m{};
    ASSERT_EQ(sysv_msgrcv(id, &m, kStampedText, 0, IPC_NOWAIT), static_cast<ssize_t>(kStampedText));
    EXPECT_EQ(m.serial, i);
    EXPECT_EQ(m.sum, BodySum(m));
  }
  sysv_msgctl(id, IPC_RMID, nullptr);
}

TEST_F(MsgIntegrationTest, RaisingQbytesGrowsTheQueueAroundItsMessages) {
  const int id = sysv_msgget(IPC_PRIVATE, 0600);
  ASSERT_GE(id, 0);
  uint32_t sent = 0;
  Stamped m;
  for (;; ++sent) {
    Stamp(m, 2, sent);
    if (sysv_msgsnd(id, &m, kStampedText, IPC_NOWAIT) != 0) break;
  }
  ASSERT_EQ(errno, EAGAIN);
  // A reader that mapped the queue before it grows, sleeping for a type
  // nobody sends until the end.
  const pid_t early_reader = Child([&] {
    Stamped got{};
    return sysv_msgrcv(id, &got, kStampedText, 99, 0) == static_cast<ssize_t>(kStampedText) ? 0 : 1;
  });
  WaitAsleep(early_reader);
  // msg_qbytes above MSGMNB needs CAP_SYS_RESOURCE, which this machine's
  // root may lack: raise MSGMNB instead (a restart keeps every object).
  daemon_->Stop();
  daemon_ = std::make_unique<testing::TestDaemon>(daemon_dir_, std::vector<std::string>{"--limit=msgmnb=8388608"});
  daemon_->Start();
  msqid_ds ds{};
  ASSERT_EQ(sysv_msgctl(id, IPC_STAT, &ds), 0);
  ds.msg_qbytes = 4 * 1024 * 1024;  // far beyond the region's first size
  ASSERT_EQ(sysv_msgctl(id, IPC_SET, &ds), 0) << strerror(errno);
  for (;; ++sent) {
    Stamp(m, 2, sent);
    if (sysv_msgsnd(id, &m, kStampedText, IPC_NOWAIT) != 0) break;
  }
  ASSERT_EQ(errno, EAGAIN);
  ASSERT_EQ(sysv_msgctl(id, IPC_STAT, &ds), 0);
  EXPECT_EQ(ds.msg_qnum, sent);
  EXPECT_EQ(ds.__msg_cbytes, sent * kStampedText);
  EXPECT_GT(sent, 4u * 1024 * 1024 / kStampedText - 2);
  // The early reader reads from the grown arena: its message is the last.
  ds.msg_qbytes = 8 * 1024 * 1024;
  ASSERT_EQ(sysv_msgctl(id, IPC_SET, &ds), 0);
  Stamp(m, 3, 0);
  m.mtype = 99;
  m.sum = BodySum(m);
  ASSERT_EQ(sysv_msgsnd(id, &m, kStampedText, 0), 0);
  EXPECT_EQ(ExitCode(early_reader), 0);
  const pid_t reader = Child([&] {
    for (uint32_t i = 0; i < sent; ++i) {
      Stamped got{};
      if (sysv_msgrcv(id, &got, kStampedText, 0, IPC_NOWAIT) != static_cast<ssize_t>(kStampedText)) return 1;
      if (got.serial != i || got.sum != BodySum(got)) return 2;
    }
    return 0;
  });
  EXPECT_EQ(ExitCode(reader), 0);
  sysv_msgctl(id, IPC_RMID, nullptr);
}

// Senders and receivers under SIGKILL. Every message reported sent (logged
// by its sender after msgsnd returned) is received exactly once or is still
// in the queue at the end, except at most one per killed receiver (taken by
// a process that died before it could say so); none is received twice; and
// the queue's counts equal what is really in it.
TEST_F(MsgIntegrationTest, KilledSendersAndReceiversLoseAndDuplicateNothing) {
  const int id = sysv_msgget(IPC_PRIVATE, 0600);
  ASSERT_GE(id, 0);
  msqid_ds ds{};
  ASSERT_EQ(sysv_msgctl(id, IPC_STAT, &ds), 0);
  ds.msg_qbytes = 4000;  // small: senders block often
  ASSERT_EQ(sysv_msgctl(id, IPC_SET, &ds), 0);
  int sent_log[2];
  int received_log[2];
  ASSERT_EQ(pipe(sent_log), 0);
  ASSERT_EQ(pipe(received_log), 0);
  std::atomic<uint32_t> next_sender{1};
  auto spawn_sender = [&] {
    const uint32_t sender = next_sender++;
    return Child([&, sender] {
      for (uint32_t serial = 0;; ++serial) {
        Stamped m;
        Stamp(m, sender, serial);
        if (sysv_msgsnd(id, &m, kStampedText, 0) != 0) return errno == EIDRM ? 0 : 3;
        const uint64_t record = (uint64_t{sender} << 32) | serial;
        if (write(sent_log[1], &record, sizeof(record)) != sizeof(record)) return 4;
      }
    });
  };
  auto spawn_receiver = [&] {
    return Child([&] {
      for (;;) {
        Stamped m{};
        const ssize_t n = sysv_msgrcv(id, &m, kStampedText, 0, 0);
        if (n < 0) return errno == EIDRM ? 0 : 5;
        if (n != static_cast<ssize_t>(kStampedText) || m.sum != BodySum(m)) return 6;
        const uint64_t record = (uint64_t{m.sender} << 32) | m.serial;
        if (write(received_log[1], &record, sizeof(record)) != sizeof(record)) return 7;
      }
    });
  };
  std::vector<pid_t> senders;
  std::vector<pid_t> receivers;
  for (int i = 0; i < 3; ++i) senders.push_back(spawn_sender());
  for (int i = 0; i < 3; ++i) receivers.push_back(spawn_receiver());
  // Collect the logs while the chaos runs (pipes must not fill up).
  std::vector<uint64_t> sent;
  std::vector<uint64_t> received;
  std::thread sent_reader = testing::DrainStampedIds(sent_log[0], &sent);
  std::thread received_reader = testing::DrainStampedIds(received_log[0], &received);
  std::mt19937 rng(7);
  int receiver_kills = 0;
  int sender_kills = 0;
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(2000);
  while (std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::microseconds(500 + rng() % 5000));
    const bool kill_receiver = rng() % 2 == 0;
    std::vector<pid_t>& group = kill_receiver ? receivers : senders;
    const size_t victim = rng() % group.size();
    kill(group[victim], SIGKILL);
    waitpid(group[victim], nullptr, 0);
    group[victim] = kill_receiver ? spawn_receiver() : spawn_sender();
    (kill_receiver ? receiver_kills : sender_kills)++;
  }
  // Stop the senders, let the receivers drain, and take the rest ourselves.
  for (pid_t pid : senders) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (pid_t pid : receivers) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  receiver_kills += static_cast<int>(receivers.size());
  close(sent_log[1]);
  close(received_log[1]);
  sent_reader.join();
  received_reader.join();
  ASSERT_EQ(sysv_msgctl(id, IPC_STAT, &ds), 0);
  std::vector<uint64_t> left;
  uint64_t left_bytes = 0;
  for (;;) {
    Stamped m{};
    const ssize_t n = sysv_msgrcv(id, &m, kStampedText, 0, IPC_NOWAIT);
    if (n < 0) break;
    ASSERT_EQ(m.sum, BodySum(m));
    left.push_back((uint64_t{m.sender} << 32) | m.serial);
    left_bytes += static_cast<uint64_t>(n);
  }
  EXPECT_EQ(ds.msg_qnum, left.size());
  EXPECT_EQ(ds.__msg_cbytes, left_bytes);
  std::set<uint64_t> seen;
  for (uint64_t record : received) EXPECT_TRUE(seen.insert(record).second) << "received twice: " << record;
  for (uint64_t record : left) EXPECT_TRUE(seen.insert(record).second) << "received and still queued: " << record;
  int missing = 0;
  for (uint64_t record : sent) missing += seen.count(record) == 0 ? 1 : 0;
  EXPECT_LE(missing, receiver_kills) << "messages reported sent and never seen";
  EXPECT_GT(sent.size(), 100u);
  RecordProperty("sent", static_cast<int>(sent.size()));
  RecordProperty("sender_kills", sender_kills);
  RecordProperty("receiver_kills", receiver_kills);
  std::printf("chaos: %zu sent, %zu received, %zu left, %d missing, %d sender and %d receiver kills\n", sent.size(),
              received.size(), left.size(), missing, sender_kills, receiver_kills);
  sysv_msgctl(id, IPC_RMID, nullptr);
  close(sent_log[0]);
  close(received_log[0]);
}

}  // namespace
}  // namespace sysv
