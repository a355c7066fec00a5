// Chaos across all three kinds: workers take a SEM_UNDO mutex, update a
// pair of counters in a shared segment under it, and send and receive
// checksummed messages, while a driver SIGKILLs random workers and, several
// times, the daemon itself (restarting it at once). Afterwards, with every
// worker gone and a fresh daemon up: the mutex is free again (the undo of
// every killed holder was applied), nobody is counted as waiting, no
// message was received twice or damaged, none reported sent is missing
// beyond one per killed worker (taken by a process that died before it
// could say so), the queue's counts are what it holds, and the segment's
// attach count is 0. No worker may hang: each daemon restart must be
// followed by progress.
//
// The long variant: --test_env=SYSV_CHAOS_SECONDS=60.
#include <fcntl.h>
#include <signal.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/testing/stamped_message.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

using testing::kStampedText;
using testing::StampedId;
using testing::StampedMessage;
using testing::StampedSum;

struct Counters {
  volatile uint64_t first;
  volatile uint64_t second;  // == first outside the critical section
};

// The failure value of each call: -1, or (void*)-1 for shmat.
bool Failed(ssize_t result) { return result == -1; }
bool Failed(int result) { return result == -1; }
bool Failed(void* result) { return result == reinterpret_cast<void*>(-1); }

// Retries a call that FAILED because it met the daemon down (ECONNREFUSED,
// ENOENT of the socket, a reset channel) for a few seconds. errno is only
// looked at after a failure: a call that succeeded may have left any value
// there (POSIX allows it, and libsysv's reconnect does), and repeating a
// msgsnd that succeeded would send its message twice.
template <typename Call>
auto Retrying(Call call) {
  for (int i = 0;; ++i) {
    auto result = call();
    if (!Failed(result)) return result;
    const bool daemon_down = errno == ECONNREFUSED || errno == ENOENT || errno == ECONNRESET || errno == EPIPE;
    if (!daemon_down || i > 5000) return result;
    usleep(1000);
  }
}

[[noreturn]] void Worker(uint32_t worker, int shm_id, int sem_id, int msg_id, int sent_fd, int received_fd) {
  void* addr = Retrying([&] { return sysv_shmat(shm_id, nullptr, 0); });
  if (addr == reinterpret_cast<void*>(-1)) _exit(10);
  auto* counters = static_cast<Counters*>(addr);
  for (uint32_t serial = 0;; ++serial) {
    sembuf lock{0, -1, SEM_UNDO};
    if (Retrying([&] { return sysv_semop(sem_id, &lock, 1); }) != 0) _exit(11);
    const uint64_t next = counters->first + 1;
    counters->first = next;
    counters->second = next;
    sembuf unlock{0, 1, SEM_UNDO};
    if (Retrying([&] { return sysv_semop(sem_id, &unlock, 1); }) != 0) _exit(12);

    StampedMessage m{};
    testing::Stamp(m, worker, serial);
    if (Retrying([&] { return sysv_msgsnd(msg_id, &m, kStampedText, 0); }) != 0) _exit(13);
    const uint64_t sent = StampedId(m);
    if (write(sent_fd, &sent, sizeof(sent)) != sizeof(sent)) _exit(14);

    // Up to two receives per send, so that messages a killed worker sent
    // and never received cannot fill the queue and block every sender.
    for (int k = 0; k < 2; ++k) {
      StampedMessage got{};
      const ssize_t n = Retrying([&] { return sysv_msgrcv(msg_id, &got, kStampedText, 0, IPC_NOWAIT); });
      if (n < 0) {
        if (errno != ENOMSG) _exit(17);
        break;
      }
      if (n != static_cast<ssize_t>(kStampedText) || got.sum != StampedSum(got)) _exit(15);
      const uint64_t received = StampedId(got);
      if (write(received_fd, &received, sizeof(received)) != sizeof(received)) _exit(16);
    }
  }
}

TEST(ChaosTest, KilledClientsAndRestartedDaemonsLoseNothing) {
  const char* seconds_env = std::getenv("SYSV_CHAOS_SECONDS");
  const int seconds = seconds_env != nullptr ? std::atoi(seconds_env) : 3;
  const std::string dir = testing::FreshNamespaceDir("chaos");
  auto daemon = std::make_unique<testing::TestDaemon>(dir);
  daemon->Start();

  const int shm_id = sysv_shmget(IPC_PRIVATE, 4096, 0600);
  const int sem_id = sysv_semget(IPC_PRIVATE, 1, 0600);
  const int msg_id = sysv_msgget(IPC_PRIVATE, 0600);
  ASSERT_GE(shm_id, 0);
  ASSERT_GE(sem_id, 0);
  ASSERT_GE(msg_id, 0);
  ASSERT_EQ(sysv_semctl(sem_id, 0, SETVAL, 1), 0);
  msqid_ds qds{};
  ASSERT_EQ(sysv_msgctl(msg_id, IPC_STAT, &qds), 0);
  qds.msg_qbytes = 4000;  // small: senders block now and then
  ASSERT_EQ(sysv_msgctl(msg_id, IPC_SET, &qds), 0);

  int sent_log[2];
  int received_log[2];
  // Close-on-exec: the daemons this test starts must not hold the write
  // ends (the readers wait for every writer to be gone).
  ASSERT_EQ(pipe2(sent_log, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(received_log, O_CLOEXEC), 0);
  std::vector<uint64_t> sent;
  std::vector<uint64_t> received;
  std::atomic<size_t> sent_count{0};  // for the progress check while running
  std::thread sent_reader = testing::DrainStampedIds(sent_log[0], &sent, &sent_count);
  std::thread received_reader = testing::DrainStampedIds(received_log[0], &received);

  uint32_t next_worker = 1;
  auto spawn = [&] {
    const uint32_t worker = next_worker++;
    const pid_t pid = fork();
    if (pid == 0) Worker(worker, shm_id, sem_id, msg_id, sent_log[1], received_log[1]);
    return pid;
  };
  std::vector<pid_t> workers;
  for (int i = 0; i < 4; ++i) workers.push_back(spawn());

  std::mt19937 rng(2026);
  int worker_kills = 0;
  int daemon_restarts = 0;
  int stalled_after_restart = 0;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  auto next_restart = std::chrono::steady_clock::now() + std::chrono::milliseconds(400);
  while (std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::microseconds(1000 + rng() % 4000));
    const size_t victim = rng() % workers.size();
    kill(workers[victim], SIGKILL);
    int status = 0;
    waitpid(workers[victim], &status, 0);
    workers[victim] = spawn();
    ++worker_kills;
    if (std::chrono::steady_clock::now() >= next_restart) {
      daemon->Kill();
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 20));
      daemon->Start();
      ++daemon_restarts;
      next_restart = std::chrono::steady_clock::now() + std::chrono::milliseconds(300 + rng() % 300);
      // Progress after the restart: the mutex comes free (the undo of
      // holders killed while the daemon was down is applied by the new one).
      const size_t before = sent_count.load(std::memory_order_relaxed);
      bool moved = false;
      for (int i = 0; i < 300 && !moved; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        moved = sent_count.load(std::memory_order_relaxed) > before;
      }
      if (!moved) ++stalled_after_restart;
    }
  }
  // A worker that exited by itself failed a call: that is a failure too.
  for (pid_t& pid : workers) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      ADD_FAILURE() << "a worker exited by itself: " << (WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    ++worker_kills;
  }
  close(sent_log[1]);
  close(received_log[1]);
  sent_reader.join();
  received_reader.join();

  // One more restart: the new daemon finds every worker dead.
  daemon->Kill();
  daemon->Start();
  // Applying the undo of the last dead is the daemon's first work.
  int value = -1;
  for (int i = 0; i < 200 && value != 1; ++i) {
    shmid_ds poke{};
    sysv_shmctl(shm_id, IPC_STAT, &poke);  // a request: exit work runs first
    value = sysv_semctl(sem_id, 0, GETVAL);
    if (value != 1) usleep(10000);
  }
  EXPECT_EQ(value, 1) << "the mutex did not come free: an undo was lost";
  EXPECT_EQ(sysv_semctl(sem_id, 0, GETNCNT), 0);
  EXPECT_EQ(sysv_semctl(sem_id, 0, GETZCNT), 0);
  shmid_ds sds{};
  ASSERT_EQ(sysv_shmctl(shm_id, IPC_STAT, &sds), 0);
  EXPECT_EQ(sds.shm_nattch, 0u);
  auto* counters = static_cast<Counters*>(sysv_shmat(shm_id, nullptr, 0));
  ASSERT_NE(counters, reinterpret_cast<Counters*>(-1));
  // A holder killed between its two stores leaves them one apart.
  EXPECT_LE(counters->first - counters->second, 1u);
  EXPECT_GT(counters->first, 100u);
  const uint64_t critical_sections = counters->first;
  sysv_shmdt(counters);

  ASSERT_EQ(sysv_msgctl(msg_id, IPC_STAT, &qds), 0);
  std::vector<uint64_t> left;
  uint64_t left_bytes = 0;
  for (;;) {
    StampedMessage m{};
    const ssize_t n = sysv_msgrcv(msg_id, &m, kStampedText, 0, IPC_NOWAIT);
    if (n < 0) break;
    ASSERT_EQ(m.sum, StampedSum(m)) << "a damaged message";
    left.push_back(StampedId(m));
    left_bytes += static_cast<uint64_t>(n);
  }
  EXPECT_EQ(qds.msg_qnum, left.size());
  EXPECT_EQ(qds.__msg_cbytes, left_bytes);
  std::set<uint64_t> seen;
  for (uint64_t record : received) EXPECT_TRUE(seen.insert(record).second) << "received twice: " << record;
  for (uint64_t record : left) EXPECT_TRUE(seen.insert(record).second) << "received and still queued: " << record;
  int missing = 0;
  for (uint64_t record : sent) missing += seen.count(record) == 0 ? 1 : 0;
  EXPECT_LE(missing, worker_kills) << "messages reported sent and never seen";
  EXPECT_GE(daemon_restarts, 2);
  EXPECT_EQ(stalled_after_restart, 0) << "no progress within 3 s of a daemon restart";
  std::printf("chaos: %d s, %d worker kills, %d daemon restarts, %zu messages sent, %zu received, %zu left, "
              "%d missing, %llu critical sections\n",
              seconds, worker_kills, daemon_restarts, sent.size(), received.size(), left.size(), missing,
              static_cast<unsigned long long>(critical_sections));
  sysv_shmctl(shm_id, IPC_RMID, nullptr);
  sysv_semctl(sem_id, 0, IPC_RMID);
  sysv_msgctl(msg_id, IPC_RMID, nullptr);
  close(sent_log[0]);
  close(received_log[0]);
}

}  // namespace
}  // namespace sysv
