// Regions scribbled while in use, with a real daemon and real processes
// (DESIGN.md decision 6: a client with write access can scribble on a
// region; that object alone may fail, nothing crashes or hangs).
//
// Two semaphore sets and two message queues: a victim and a neighbour of
// each kind. Worker processes use all four through libsysv the whole time:
//   - on each set, a SEM_UNDO mutex (semaphore 0) around a holder count
//     (semaphore 1, which must read 1 inside), then a counter (semaphore 2)
//     that goes +1, -1, +1 ... and is brought back to 0 at the end, and a
//     wait-for-zero on semaphore 3; now and then a process takes the mutex
//     with SEM_UNDO and exits holding it, leaving its undo to the daemon;
//   - on each queue, checksummed messages (tests/testing/stamped_message.h)
//     sent and received with IPC_NOWAIT; every send and receive is logged.
// Meanwhile a scribbler process, which got the victims' regions as any
// client with write permission gets them (kSemOpen, kMsgOpen over the wire),
// writes random bytes into both mappings: anywhere, the headers and their
// locks included, most often in the first kilobyte where the header and the
// first blocks are. A prober process keeps asking the daemon about all four
// objects and creating and removing a fresh one.
//
// Afterwards: every process exited by itself (none crashed, none hung: the
// supervisor kills what is still running at the deadline and fails); the
// daemon is the same process and answers; the neighbour set holds exactly
// [1, 0, 0, 0] with nobody waiting; every message sent to the neighbour
// queue was received exactly once, intact (what is left is drained here),
// and its counts are 0; every call on a victim returned a result or one of
// the errors a damaged object may give (EINVAL, EAGAIN, ...; EIDRM only
// for the queue: a set is never "removed" by a scribble). The
// victims are then removed (IPC_RMID answers, whatever their state).
//
// The run scribbles for 8 seconds; SYSV_SCRIBBLE_SECONDS=N makes it longer
// (bazel test --test_env=SYSV_SCRIBBLE_SECONDS=120
// //tests/reliability:region_scribble_test).
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/protocol/wire.h"
#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/reliability/raw_client.h"
#include "tests/testing/process_state.h"
#include "tests/testing/stamped_message.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

namespace wire = core::wire;
using testing::kStampedText;
using testing::StampedId;
using testing::StampedMessage;
using testing::StampedSum;

// Child exit codes: 0 fine; the others name what went wrong (printed by
// the child on stderr too).
constexpr int kUnexpectedErrno = 20;
constexpr int kNeighbourBroken = 21;
constexpr int kSetupFailed = 22;
constexpr int kLogFailed = 23;

// Errors a damaged object may answer with. Any other errno from a call on a
// victim fails the test.
bool AllowedOnVictim(int error) {
  switch (error) {
    case EIDRM:   // the region is unusable: the object is as good as removed
    case EINVAL:  // a scribbled id, count or semaphore number
    case EAGAIN:  // a timeout, a full queue, a lost wake-up
    case ENOMSG:
    case EFBIG:
    case ERANGE:  // a scribbled value beyond SEMVMX
    case E2BIG:   // a scribbled message length
    case ENOSPC:  // a scribbled arena has no room for the record
    case ENOMEM:
      return true;
    default:
      return false;
  }
}

struct Objects {
  int victim_set = -1;
  int neighbour_set = -1;
  int victim_queue = -1;
  int neighbour_queue = -1;
};

timespec Timeout(int ms) { return timespec{ms / 1000, static_cast<long>(ms % 1000) * 1000000}; }

bool Expired(std::chrono::steady_clock::time_point deadline) { return std::chrono::steady_clock::now() >= deadline; }

[[noreturn]] void Fail(int code, const char* what, int error) {
  std::fprintf(stderr, "pid %d: %s: %s\n", getpid(), what, std::strerror(error));
  _exit(code);
}

// What the calls on a victim returned in this process, by errno (0:
// success), printed when it ends: a run whose victims never failed
// scribbled nothing that mattered.
std::map<int, long>& VictimResults() {
  static std::map<int, long> results;
  return results;
}

void PrintVictimResults(const char* who) {
  std::string line;
  for (const auto& [error, count] : VictimResults()) {
    line += " " + std::string(error == 0 ? "ok" : strerrorname_np(error)) + "=" + std::to_string(count);
  }
  std::fprintf(stderr, "%s %d on its victim:%s\n", who, getpid(), line.c_str());
}

// One call on a victim: 0/a result, or an allowed errno; anything else ends
// the process with kUnexpectedErrno.
void CheckVictim(int result, const char* what) {
  ++VictimResults()[result < 0 ? errno : 0];
  if (result < 0 && !AllowedOnVictim(errno)) Fail(kUnexpectedErrno, what, errno);
}

// A set is never "removed" by a scribble (issue #13: an alter user can do
// no more than semop and SETVAL/SETALL could; core/sem/sem_set.h, "Regions
// are untrusted input"): the victim set's calls may fail as the victim
// queue's may, but never with EIDRM while it exists.
void CheckVictimSet(int result, const char* what) {
  ++VictimResults()[result < 0 ? errno : 0];
  if (result < 0 && (errno == EIDRM || !AllowedOnVictim(errno))) Fail(kUnexpectedErrno, what, errno);
}

// One call on a neighbour must succeed.
void CheckNeighbour(int result, const char* what) {
  if (result < 0) Fail(kNeighbourBroken, what, errno);
}

// The set protocol of the header comment, until the deadline. On the
// neighbour every step must succeed and waits without a timeout (a wait
// that never ends is caught by the supervisor as a hang); on the victim
// every step may fail, waits end after 200 ms, and a failed iteration is
// simply abandoned.
[[noreturn]] void SetWorker(int id, bool victim, std::chrono::steady_clock::time_point deadline) {
  const timespec victim_wait = Timeout(200);
  const timespec* wait = victim ? &victim_wait : nullptr;
  auto check = victim ? CheckVictimSet : CheckNeighbour;
  int parity = 0;  // this process's share of semaphore 2
  for (uint32_t i = 0; !Expired(deadline); ++i) {
    sembuf lock[] = {{0, -1, SEM_UNDO}, {1, 1, SEM_UNDO}};
    int r = sysv_semtimedop(id, lock, 2, wait);
    check(r, "semtimedop(lock)");
    if (r < 0) {
      usleep(1000);  // a dead victim answers at once: leave the CPUs to the others
      continue;
    }
    if (!victim) {
      const int holders = sysv_semctl(id, 1, GETVAL);
      if (holders != 1) {
        std::fprintf(stderr, "pid %d: %d holders of the neighbour's mutex\n", getpid(), holders);
        _exit(kNeighbourBroken);
      }
    }
    sembuf count{2, static_cast<short>(parity == 0 ? 1 : -1), IPC_NOWAIT};
    r = sysv_semop(id, &count, 1);
    check(r, "semop(count)");
    if (r == 0) parity ^= 1;
    // On the victim the scribbler may have set semaphore 1 to 0 (as SETVAL
    // could), and then this decrement waits as the kernel's would: bounded.
    sembuf unlock[] = {{1, -1, SEM_UNDO}, {0, 1, SEM_UNDO}};
    check(sysv_semtimedop(id, unlock, 2, wait), "semop(unlock)");
    sembuf zero{3, 0, IPC_NOWAIT};
    check(sysv_semop(id, &zero, 1), "semop(wait for zero)");
    if (i % 64 == 0) {
      unsigned short values[4];
      check(sysv_semctl(id, 0, GETALL, values), "semctl(GETALL)");
    }
  }
  if (parity != 0) {
    sembuf back{2, -1, 0};
    check(sysv_semtimedop(id, &back, 1, wait), "semtimedop(counter back to 0)");
  }
  if (victim) PrintVictimResults("set worker");
  _exit(0);
}

// Takes the mutex with SEM_UNDO and exits holding it: the daemon's undo
// must give it back (and the holder count). On the victim, anything goes.
[[noreturn]] void Quitter(int id, bool victim) {
  const timespec victim_wait = Timeout(200);
  sembuf lock[] = {{0, -1, SEM_UNDO}, {1, 1, SEM_UNDO}};
  const int r = sysv_semtimedop(id, lock, 2, victim ? &victim_wait : nullptr);
  if (victim) {
    CheckVictimSet(r, "quitter semtimedop");
  } else {
    CheckNeighbour(r, "quitter semtimedop");
  }
  _exit(0);
}

// Sends and receives stamped messages on one queue, logging the ids of the
// messages it sent and received to two pipes (neighbour only).
[[noreturn]] void QueueWorker(uint32_t sender, int id, bool victim, int sent_fd, int received_fd,
                              std::chrono::steady_clock::time_point deadline) {
  int damaged = 0;
  for (uint32_t serial = 0; !Expired(deadline); ++serial) {
    StampedMessage m{};
    testing::Stamp(m, sender, serial);
    const int r = sysv_msgsnd(id, &m, kStampedText, IPC_NOWAIT);
    if (victim) ++VictimResults()[r < 0 ? errno : 0];
    if (r == 0 && !victim) {
      const uint64_t sent = StampedId(m);
      if (write(sent_fd, &sent, sizeof(sent)) != sizeof(sent)) Fail(kLogFailed, "log", errno);
    }
    if (r < 0 && !(victim ? AllowedOnVictim(errno) : errno == EAGAIN)) {
      Fail(victim ? kUnexpectedErrno : kNeighbourBroken, "msgsnd", errno);
    }
    for (int k = 0; k < 2; ++k) {
      StampedMessage got{};
      const ssize_t n = sysv_msgrcv(id, &got, kStampedText, k == 0 ? 0 : -3, IPC_NOWAIT);
      if (victim) ++VictimResults()[n < 0 ? errno : 0];
      if (n < 0) {
        if (victim ? AllowedOnVictim(errno) : errno == ENOMSG) break;
        Fail(victim ? kUnexpectedErrno : kNeighbourBroken, "msgrcv", errno);
      }
      const bool intact = n == static_cast<ssize_t>(kStampedText) && got.sum == StampedSum(got);
      if (!victim) {
        if (!intact) {
          std::fprintf(stderr, "pid %d: a damaged message from the neighbour queue\n", getpid());
          _exit(kNeighbourBroken);
        }
        const uint64_t received = StampedId(got);
        if (write(received_fd, &received, sizeof(received)) != sizeof(received)) Fail(kLogFailed, "log", errno);
      } else if (!intact) {
        ++damaged;  // a scribbled body or length: possible, never a crash
      }
    }
    if (victim && r < 0 && errno == EIDRM) usleep(1000);
    if (victim && serial % 32 == 0) {
      msqid_ds ds{};
      CheckVictim(sysv_msgctl(id, IPC_STAT, &ds), "msgctl(IPC_STAT)");
    }
  }
  if (victim) {
    PrintVictimResults("queue worker");
    std::fprintf(stderr, "queue worker %d: %d damaged messages received from its victim\n", getpid(), damaged);
  }
  _exit(0);
}

// A region granted as a client gets it, mapped read-write.
struct Mapping {
  void* base = MAP_FAILED;
  size_t size = 0;
};

Mapping MapGrant(testing::RawReply& reply) {
  Mapping m;
  if (reply.fds.size() != 1) return m;
  struct stat st{};
  if (fstat(reply.fds[0], &st) != 0 || st.st_size <= 0) return m;
  m.size = static_cast<size_t>(st.st_size);
  m.base = mmap(nullptr, m.size, PROT_READ | PROT_WRITE, MAP_SHARED, reply.fds[0], 0);
  return m;
}

// Writes random bytes into the victims' regions until the deadline. It
// registers as a client and asks for the regions over the wire, so it holds
// what any process with write permission holds.
[[noreturn]] void Scribbler(const std::string& dir, const Objects& objects, uint32_t seed,
                            std::chrono::steady_clock::time_point deadline) {
  testing::RawClient client(dir);
  if (!client.ok() || client.Register() != 0) Fail(kSetupFailed, "scribbler register", client.connect_error());
  testing::RawReply set_reply = client.Call<wire::Op::kSemOpen>(wire::SemOpenRequest{objects.victim_set, 0});
  testing::RawReply queue_reply = client.Call<wire::Op::kMsgOpen>(wire::MsgOpenRequest{objects.victim_queue, 0});
  std::vector<Mapping> regions = {MapGrant(set_reply), MapGrant(queue_reply)};
  for (const Mapping& m : regions) {
    if (m.base == MAP_FAILED) Fail(kSetupFailed, "scribbler cannot map a victim", errno);
  }
  std::mt19937 rng(seed);
  long writes = 0;
  while (!Expired(deadline)) {
    for (Mapping& m : regions) {
      auto* bytes = static_cast<unsigned char*>(m.base);
      for (int k = 0; k < 4; ++k) {
        // Mostly the header and the first blocks, where the state is.
        const size_t hot = std::min<size_t>(m.size, 1024);
        const size_t at = rng() % 4 != 0 ? rng() % hot : rng() % m.size;
        bytes[at] = static_cast<unsigned char>(rng());
        ++writes;
      }
    }
    usleep(200 + rng() % 800);
  }
  std::fprintf(stderr, "scribbler: %ld random bytes written\n", writes);
  _exit(0);
}

// Asks the daemon about every object, and makes and removes a fresh set and
// queue, until the deadline: it must always answer.
[[noreturn]] void Prober(const Objects& objects, std::chrono::steady_clock::time_point deadline) {
  long rounds = 0;
  while (!Expired(deadline)) {
    semid_ds sds{};
    msqid_ds qds{};
    CheckVictimSet(sysv_semctl(objects.victim_set, 0, IPC_STAT, &sds), "probe semctl(victim)");
    CheckVictim(sysv_msgctl(objects.victim_queue, IPC_STAT, &qds), "probe msgctl(victim)");
    CheckNeighbour(sysv_semctl(objects.neighbour_set, 0, IPC_STAT, &sds), "probe semctl(neighbour)");
    CheckNeighbour(sysv_msgctl(objects.neighbour_queue, IPC_STAT, &qds), "probe msgctl(neighbour)");
    const int fresh_set = sysv_semget(IPC_PRIVATE, 2, 0600);
    CheckNeighbour(fresh_set, "probe semget");
    CheckNeighbour(sysv_semctl(fresh_set, 0, IPC_RMID), "probe semctl(IPC_RMID)");
    const int fresh_queue = sysv_msgget(IPC_PRIVATE, 0600);
    CheckNeighbour(fresh_queue, "probe msgget");
    CheckNeighbour(sysv_msgctl(fresh_queue, IPC_RMID, nullptr), "probe msgctl(IPC_RMID)");
    ++rounds;
    usleep(20000);
  }
  std::fprintf(stderr, "prober: %ld rounds\n", rounds);
  _exit(0);
}

template <typename Body>
pid_t Spawn(Body body) {
  const pid_t pid = fork();
  if (pid == 0) body();  // every body ends with _exit
  return pid;
}

int ScribbleSeconds() {
  const char* env = std::getenv("SYSV_SCRIBBLE_SECONDS");
  return env != nullptr && std::atoi(env) > 0 ? std::atoi(env) : 8;
}

TEST(RegionScribbleTest, ScribbledSetAndQueueFailAloneNothingCrashesOrHangs) {
  const std::string dir = testing::FreshNamespaceDir("scribble");
  testing::TestDaemon daemon(dir);
  daemon.Start();
  const pid_t daemon_pid = daemon.pid();

  Objects objects;
  objects.victim_set = sysv_semget(IPC_PRIVATE, 4, 0600);
  objects.neighbour_set = sysv_semget(IPC_PRIVATE, 4, 0600);
  objects.victim_queue = sysv_msgget(IPC_PRIVATE, 0600);
  objects.neighbour_queue = sysv_msgget(IPC_PRIVATE, 0600);
  for (int id : {objects.victim_set, objects.neighbour_set, objects.victim_queue, objects.neighbour_queue}) {
    ASSERT_GE(id, 0) << std::strerror(errno);
  }
  for (int set : {objects.victim_set, objects.neighbour_set}) {
    ASSERT_EQ(sysv_semctl(set, 0, SETVAL, 1), 0) << std::strerror(errno);  // the mutex is free
  }

  int sent_log[2];
  int received_log[2];
  ASSERT_EQ(pipe2(sent_log, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(received_log, O_CLOEXEC), 0);
  std::vector<uint64_t> sent;
  std::vector<uint64_t> received;
  std::thread sent_reader = testing::DrainStampedIds(sent_log[0], &sent);
  std::thread received_reader = testing::DrainStampedIds(received_log[0], &received);

  const int seconds = ScribbleSeconds();
  const auto start = std::chrono::steady_clock::now();
  const auto stop = start + std::chrono::seconds(seconds);
  // Every child is done well before this, or it hangs.
  const auto hang_deadline = stop + std::chrono::seconds(60);

  std::map<pid_t, std::string> children;
  auto spawn = [&](const std::string& name, auto body) {
    const pid_t pid = Spawn(body);
    ASSERT_GT(pid, 0);
    children[pid] = name;
  };
  for (int k = 0; k < 2; ++k) {
    spawn("neighbour set worker", [&] { SetWorker(objects.neighbour_set, false, stop); });
    spawn("victim set worker", [&] { SetWorker(objects.victim_set, true, stop); });
    spawn("neighbour queue worker", [&, k] {
      QueueWorker(100 + k, objects.neighbour_queue, false, sent_log[1], received_log[1], stop);
    });
    spawn("victim queue worker",
          [&, k] { QueueWorker(200 + k, objects.victim_queue, true, sent_log[1], received_log[1], stop); });
  }
  spawn("scribbler", [&] { Scribbler(dir, objects, 0x5c1bb1e, stop); });
  spawn("prober", [&] { Prober(objects, stop); });
  close(sent_log[1]);
  close(received_log[1]);

  // Supervise: reap children as they end, start a quitter on each set now
  // and then, and kill everything still running at the hang deadline.
  std::map<std::string, int> bad_exits;  // "name: status" -> count
  int quitters = 0;
  auto reap = [&](pid_t pid, int status) {
    const std::string name = children[pid];
    children.erase(pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      const std::string what =
          WIFSIGNALED(status) ? "killed by signal " + std::to_string(WTERMSIG(status))
                              : "exit " + std::to_string(WEXITSTATUS(status));
      ++bad_exits[name + ": " + what];
    }
  };
  auto next_quitter = std::chrono::steady_clock::now();
  while (!children.empty() && std::chrono::steady_clock::now() < hang_deadline) {
    int status;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      if (children.count(pid) != 0) reap(pid, status);
      continue;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now < stop && now >= next_quitter) {
      const bool victim = quitters % 2 == 1;
      const int set = victim ? objects.victim_set : objects.neighbour_set;
      spawn(victim ? "victim quitter" : "neighbour quitter", [set, victim] { Quitter(set, victim); });
      ++quitters;
      next_quitter = now + std::chrono::milliseconds(100);
    }
    usleep(5000);
  }
  for (const auto& [pid, name] : children) {
    ADD_FAILURE() << name << " (pid " << pid << ") still running " << (60 + seconds)
                  << " s after the start: it hangs";
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  sent_reader.join();
  received_reader.join();
  close(sent_log[0]);
  close(received_log[0]);
  for (const auto& [what, count] : bad_exits) ADD_FAILURE() << count << " x " << what;

  // The daemon is the same process, alive, and answers.
  ASSERT_EQ(daemon.pid(), daemon_pid);
  ASSERT_EQ(kill(daemon_pid, 0), 0) << "the daemon is gone";
  ASSERT_NE(testing::ProcessState(daemon_pid), 'Z') << "the daemon died";
  const int fresh = sysv_semget(IPC_PRIVATE, 1, 0600);
  ASSERT_GE(fresh, 0) << std::strerror(errno);
  EXPECT_EQ(sysv_semctl(fresh, 0, IPC_RMID), 0);

  // The neighbour set is exact: the mutex free, nobody inside, the counter
  // back to 0, nobody waiting (the quitters' undo was applied).
  unsigned short values[4] = {9, 9, 9, 9};
  ASSERT_EQ(sysv_semctl(objects.neighbour_set, 0, GETALL, values), 0) << std::strerror(errno);
  EXPECT_EQ(values[0], 1);
  EXPECT_EQ(values[1], 0);
  EXPECT_EQ(values[2], 0);
  EXPECT_EQ(values[3], 0);
  for (int semnum = 0; semnum < 4; ++semnum) {
    EXPECT_EQ(sysv_semctl(objects.neighbour_set, semnum, GETNCNT), 0) << semnum;
    EXPECT_EQ(sysv_semctl(objects.neighbour_set, semnum, GETZCNT), 0) << semnum;
  }

  // The neighbour queue: drain it, then every message sent was received
  // once and intact, and the counts are 0.
  for (;;) {
    StampedMessage got{};
    const ssize_t n = sysv_msgrcv(objects.neighbour_queue, &got, kStampedText, 0, IPC_NOWAIT);
    if (n < 0) {
      EXPECT_EQ(errno, ENOMSG) << std::strerror(errno);
      break;
    }
    ASSERT_EQ(n, static_cast<ssize_t>(kStampedText));
    ASSERT_EQ(got.sum, StampedSum(got)) << "a damaged message in the neighbour queue";
    received.push_back(StampedId(got));
  }
  std::multiset<uint64_t> sent_set(sent.begin(), sent.end());
  std::multiset<uint64_t> received_set(received.begin(), received.end());
  EXPECT_EQ(sent_set.size(), sent.size());
  EXPECT_EQ(received_set, sent_set) << "neighbour messages lost, duplicated or invented";
  msqid_ds qds{};
  ASSERT_EQ(sysv_msgctl(objects.neighbour_queue, IPC_STAT, &qds), 0);
  EXPECT_EQ(qds.msg_qnum, 0u);
  EXPECT_EQ(qds.__msg_cbytes, 0u);

  // The victims answer (whatever their state), and can be removed.
  semid_ds sds{};
  const int stat_set = sysv_semctl(objects.victim_set, 0, IPC_STAT, &sds);
  EXPECT_TRUE(stat_set == 0 || (errno != EIDRM && AllowedOnVictim(errno))) << std::strerror(errno);
  const int stat_queue = sysv_msgctl(objects.victim_queue, IPC_STAT, &qds);
  EXPECT_TRUE(stat_queue == 0 || AllowedOnVictim(errno)) << std::strerror(errno);
  EXPECT_EQ(sysv_semctl(objects.victim_set, 0, IPC_RMID), 0) << std::strerror(errno);
  EXPECT_EQ(sysv_msgctl(objects.victim_queue, IPC_RMID, nullptr), 0) << std::strerror(errno);
  EXPECT_EQ(sysv_semctl(objects.neighbour_set, 0, IPC_RMID), 0);
  EXPECT_EQ(sysv_msgctl(objects.neighbour_queue, IPC_RMID, nullptr), 0);
  std::printf("scribble: %d s, %zu neighbour messages sent and received, %d quitters\n", seconds, sent.size(),
              quitters);
  daemon.Stop();
}

}  // namespace
}  // namespace sysv
