// Issue #12, section 2: crashing the daemon through a descriptor it handed
// out (DESIGN.md, trust model rule 3: "Descriptors cannot be turned against
// others").
//
// A client holds read-write descriptors of files the daemon maps too: its
// own attach ledger (every registered process), and the region of every
// semaphore set and message queue it may write. The attacker, user B,
// truncates them, punches holes in them, grows them and tries to seal them,
// then makes the daemon touch them: by exiting (the daemon folds its
// ledger and does its exit work), by asking IPC_STAT (the census reads
// every ledger; the stat reads the region), by a read-only caller's wait
// and by IPC_RMID. Before the fix the daemon died of SIGBUS at the first
// touch, for every user of the namespace.
//
// Afterwards: the daemon is the same live process; A's other objects hold
// their data; C, a bystander, creates and uses objects of every kind; the
// attacked object answers with a result or an error (never a fault) in A's
// processes too. A daemon killed and restarted on truncated region files
// comes up, and a msgsnd or semop on the attacked objects answers rather
// than faulting.
//
// Every actor is a forked child running as its own user (RunAs) and reports
// through its exit status: 0 when every check held, the number of the
// failed check otherwise, 128 + N when signal N killed it.
#include <fcntl.h>
#include <signal.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <functional>

#include "core/protocol/wire.h"
#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/reliability/as_user.h"
#include "tests/reliability/raw_client.h"
#include "tests/testing/process_state.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

namespace wire = core::wire;
using testing::RawClient;
using testing::RawReply;
using testing::RunAs;
using testing::User;

// Ids 2200-2299 are this suite's (other suites use other ranges).
const testing::Identity kOwnerA = User("owner-a", 2201, 2201);
const testing::Identity kAttackerB = User("attacker-b", 2202, 2202);
const testing::Identity kBystanderC = User("bystander-c", 2203, 2203);

constexpr int kSignalled = 128;

struct Message {
  long mtype;
  char text[32];
};

// A new descriptor of what `reply` carried (the reply closes its own).
int TakeFd(const RawReply& reply, size_t i) {
  if (reply.Status() != 0 || reply.fds.size() <= i) return -1;
  return dup(reply.fds[i]);
}

// B's read-write descriptors of a set's and a queue's regions, as any
// process that may write them gets them (kSemOpen, kMsgOpen); -1 where one
// was refused.
struct RegionFds {
  int set = -1;
  int queue = -1;
  bool ok() const { return set >= 0 && queue >= 0; }
};

RegionFds OpenRegions(RawClient& client, int set, int queue) {
  RegionFds fds;
  fds.set = TakeFd(client.Call<wire::Op::kSemOpen>(wire::SemOpenRequest{set, 0}), 0);
  fds.queue = TakeFd(client.Call<wire::Op::kMsgOpen>(wire::MsgOpenRequest{queue, 0}), 0);
  return fds;
}

// What B does to a descriptor it holds: every way to change a file's size
// or blocks that a writable descriptor allows, and seals.
enum class Damage { kTruncateToZero, kPunchEverything, kGrowThenTruncateHalf };

// A resize step "went through" if it changed the file, or if the object is
// sealed (a memfd: sets, queues and segments on Linux) and refused it with EPERM:
// that refusal is the defence, not a failed attack.
bool ResizeGoesThrough(int rc, int fd) {
  if (rc == 0) return true;
  const int errnum = errno;
  const int seals = fcntl(fd, F_GET_SEALS);
  return errnum == EPERM && seals > 0 && (seals & F_SEAL_SHRINK) != 0;
}

int DoDamage(int fd, Damage damage) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return 1;
  switch (damage) {
    case Damage::kTruncateToZero:
      return ResizeGoesThrough(ftruncate(fd, 0), fd) ? 0 : 2;
    case Damage::kPunchEverything:
      // Reads as zeros afterwards: a scribble, not a fault.
      if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, st.st_size) != 0 && errno != EOPNOTSUPP) {
        return 3;
      }
      // A seal would stop the daemon from restoring the file's size (or
      // writing it): refused, EPERM on tmpfs (a file that is not a memfd
      // is born with F_SEAL_SEAL), EINVAL elsewhere.
      if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) == 0) return 7;
      return 0;
    case Damage::kGrowThenTruncateHalf:
      if (!ResizeGoesThrough(fallocate(fd, 0, 0, st.st_size + (1 << 20)), fd) && errno != EOPNOTSUPP) return 4;
      return ResizeGoesThrough(ftruncate(fd, st.st_size / 2), fd) ? 0 : 5;
  }
  return 6;
}

class DescriptorAttackTest : public testing::SharedNamespaceTest {
 protected:
  DescriptorAttackTest() : SharedNamespaceTest("descriptor-attack") {}
  void SetUp() override {
    SharedNamespaceTest::SetUp();
    daemon_pid_ = daemon_->pid();
  }

  // The daemon that started is still running (a dead one is a zombie until
  // TestDaemon reaps it, so kill(pid, 0) cannot tell).
  bool DaemonAlive() const {
    const char state = testing::ProcessState(daemon_pid_);
    return state != 0 && state != 'Z' && daemon_->pid() == daemon_pid_;
  }

  // Runs `create` as A and returns the id it returns (or -1).
  static int CreateAsOwner(const std::function<int()>& create) { return testing::RunAsForValue(kOwnerA, create); }

  // A's queue of `mode` holding one message `text`: its id, or -1.
  static int CreateQueue(int mode, const char* text) {
    return CreateAsOwner([&] {
      const int queue = sysv_msgget(IPC_PRIVATE, IPC_CREAT | mode);
      Message message{1, {}};
      std::strncpy(message.text, text, sizeof(message.text) - 1);
      if (queue < 0 || sysv_msgsnd(queue, &message, sizeof(message.text), IPC_NOWAIT) != 0) return -1;
      return queue;
    });
  }

  // A's objects: a set (0666, semaphores 5 and 7) and a queue (0666, one
  // message) that B may write and attacks, and a set (0600, one semaphore,
  // 3) and a queue (0600, one message) that nobody else can reach.
  struct Victims {
    int set = -1;
    int queue = -1;
    int private_set = -1;
    int private_queue = -1;
    bool ok() const { return set >= 0 && queue >= 0 && private_set >= 0 && private_queue >= 0; }
  };

  static Victims CreateVictims() {
    Victims victims;
    victims.set = CreateAsOwner([] {
      const int set = sysv_semget(IPC_PRIVATE, 2, IPC_CREAT | 0666);
      unsigned short values[2] = {5, 7};
      return set >= 0 && sysv_semctl(set, 0, SETALL, values) == 0 ? set : -1;
    });
    victims.queue = CreateQueue(0666, "a's shared");
    victims.private_set = CreateAsOwner([] {
      const int set = sysv_semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
      return set >= 0 && sysv_semctl(set, 0, SETVAL, 3) == 0 ? set : -1;
    });
    victims.private_queue = CreateQueue(0600, "a's private");
    return victims;
  }

  // After an attack: the daemon lives, A's private objects hold their data,
  // C is served, and A can still remove the attacked objects (their
  // identity lives in the daemon's tables).
  void ExpectOnlyTheAttackedObjectsHarmed(const Victims& victims) {
    EXPECT_TRUE(DaemonAlive()) << "the daemon died of B's attack";
    EXPECT_EQ(OwnerDataIntact(victims.private_set, victims.private_queue), 0);
    EXPECT_EQ(BystanderWorks(), 0);
    const int removed = RunAs(kOwnerA, [&] {
      if (sysv_semctl(victims.set, 0, IPC_RMID) != 0) return 1;
      if (sysv_msgctl(victims.queue, IPC_RMID, nullptr) != 0) return 2;
      return 0;
    });
    EXPECT_EQ(removed, 0) << "the attacked objects lost their identity";
    EXPECT_TRUE(DaemonAlive());
  }

  // C, who has nothing to do with the attacked objects, uses a fresh object
  // of every kind.
  int BystanderWorks() {
    return RunAs(kBystanderC, [] {
      const int shm = sysv_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
      if (shm < 0) return 1;
      char* p = static_cast<char*>(sysv_shmat(shm, nullptr, 0));
      if (p == reinterpret_cast<char*>(-1)) return 2;
      std::strcpy(p, "c's");
      shmid_ds ds{};
      if (sysv_shmctl(shm, IPC_STAT, &ds) != 0 || ds.shm_nattch != 1) return 3;
      if (sysv_shmdt(p) != 0 || sysv_shmctl(shm, IPC_RMID, nullptr) != 0) return 4;
      const int sem = sysv_semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
      if (sem < 0) return 5;
      sembuf up{0, 1, SEM_UNDO};
      if (sysv_semop(sem, &up, 1) != 0 || sysv_semctl(sem, 0, GETVAL) != 1) return 6;
      if (sysv_semctl(sem, 0, IPC_RMID) != 0) return 7;
      const int queue = sysv_msgget(IPC_PRIVATE, IPC_CREAT | 0600);
      if (queue < 0) return 8;
      Message out{2, "c's message"};
      Message in{};
      if (sysv_msgsnd(queue, &out, sizeof(out.text), 0) != 0) return 9;
      if (sysv_msgrcv(queue, &in, sizeof(in.text), 0, IPC_NOWAIT) != sizeof(in.text)) return 10;
      if (std::strcmp(in.text, "c's message") != 0) return 11;
      if (sysv_msgctl(queue, IPC_RMID, nullptr) != 0) return 12;
      return 0;
    });
  }

  // A's untouched objects hold what A put there.
  int OwnerDataIntact(int private_set, int private_queue) {
    return RunAs(kOwnerA, [&] {
      if (sysv_semctl(private_set, 0, GETVAL) != 3) return 1;
      Message in{};
      if (sysv_msgrcv(private_queue, &in, sizeof(in.text), 0, IPC_NOWAIT) != sizeof(in.text)) return 2;
      if (std::strcmp(in.text, "a's private") != 0) return 3;
      // Put it back for a later check.
      if (sysv_msgsnd(private_queue, &in, sizeof(in.text), IPC_NOWAIT) != 0) return 4;
      return 0;
    });
  }

  pid_t daemon_pid_ = -1;
};

// B registers, damages its own ledger and exits: the daemon folds the
// ledger (exit work). In between, A's IPC_STAT of a segment counts
// attachments over every live process's ledger, B's included.
void LedgerAttack(Damage damage, const std::string& dir, const std::function<bool()>& alive,
                  const std::function<int()>& bystander) {
  int ready[2], go[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(go), 0);
  // A's segment, attached by A for the whole test: its nattch must stay 1.
  int shm_pipe[2];
  ASSERT_EQ(pipe(shm_pipe), 0);
  int a_go[2];
  ASSERT_EQ(pipe(a_go), 0);
  const pid_t a_holder = fork();
  ASSERT_GE(a_holder, 0);
  if (a_holder == 0) {
    _exit(RunAs(kOwnerA, [&] {
      const int shm = sysv_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0644);
      if (shm < 0) return 1;
      char* p = static_cast<char*>(sysv_shmat(shm, nullptr, 0));
      if (p == reinterpret_cast<char*>(-1)) return 2;
      std::strcpy(p, "a's segment");
      if (write(shm_pipe[1], &shm, sizeof(shm)) != sizeof(shm)) return 3;
      char byte;
      if (read(a_go[0], &byte, 1) != 1) return 4;
      shmid_ds ds{};
      if (sysv_shmctl(shm, IPC_STAT, &ds) != 0) return 5;
      if (ds.shm_nattch != 1) return 6;
      if (std::strcmp(p, "a's segment") != 0) return 7;
      if (sysv_shmdt(p) != 0 || sysv_shmctl(shm, IPC_RMID, nullptr) != 0) return 8;
      return 0;
    }));
  }
  int shm = -1;
  ASSERT_EQ(read(shm_pipe[0], &shm, sizeof(shm)), static_cast<ssize_t>(sizeof(shm)));

  const pid_t attacker = fork();
  ASSERT_GE(attacker, 0);
  if (attacker == 0) {
    _exit(RunAs(kAttackerB, [&] {
      RawClient client(dir);
      if (!client.ok()) return 1;
      const RawReply reply = client.Call<wire::Op::kRegister>(wire::RegisterRequest{0, 0});
      const int ledger = TakeFd(reply, 1);
      if (ledger < 0) return 2;
      if (int failed = DoDamage(ledger, damage); failed != 0) return 10 + failed;
      // The census while B lives: a stat of A's segment reads B's ledger.
      wire::ShmCtlRequest stat{};
      stat.id = shm;
      stat.cmd = IPC_STAT;
      (void)client.Call<wire::Op::kShmCtl>(stat);
      char byte = 1;
      if (write(ready[1], &byte, 1) != 1) return 3;
      if (read(go[0], &byte, 1) != 1) return 4;
      return 0;  // exits: the daemon's exit work reads the ledger
    }));
  }
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  EXPECT_TRUE(alive()) << "the daemon died while B lived";
  ASSERT_EQ(write(go[1], &byte, 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(attacker, &status, 0), attacker);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "attacker status " << status;
  // A's next request makes the daemon reap B first (server.cc, Dispatch).
  ASSERT_EQ(write(a_go[1], &byte, 1), 1);
  ASSERT_EQ(waitpid(a_holder, &status, 0), a_holder);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "A's check " << status;
  EXPECT_TRUE(alive()) << "the daemon died of B's ledger";
  EXPECT_EQ(bystander(), 0);
  EXPECT_TRUE(alive());
  for (int fd : {ready[0], ready[1], go[0], go[1], shm_pipe[0], shm_pipe[1], a_go[0], a_go[1]}) close(fd);
}

TEST_F(DescriptorAttackTest, LedgerTruncatedToZero) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  LedgerAttack(Damage::kTruncateToZero, dir_, [this] { return DaemonAlive(); },
               [this] { return BystanderWorks(); });
}

TEST_F(DescriptorAttackTest, LedgerPunchedAndSealed) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  LedgerAttack(Damage::kPunchEverything, dir_, [this] { return DaemonAlive(); },
               [this] { return BystanderWorks(); });
}

TEST_F(DescriptorAttackTest, LedgerGrownThenHalved) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  LedgerAttack(Damage::kGrowThenTruncateHalf, dir_, [this] { return DaemonAlive(); },
               [this] { return BystanderWorks(); });
}

// B may write A's 0666 set and queue, so it holds read-write descriptors of
// their regions: it truncates them, then makes the daemon touch them.
void RegionAttack(const std::string& dir, int set, int queue, Damage damage) {
  const int status = RunAs(kAttackerB, [&] {
    RawClient client(dir);
    if (!client.ok() || client.Register() != 0) return 1;
    const RegionFds fds = OpenRegions(client, set, queue);
    const int set_fd = fds.set;
    const int queue_fd = fds.queue;
    if (set_fd < 0 || queue_fd < 0) return 2;
    if (int failed = DoDamage(set_fd, damage); failed != 0) return 10 + failed;
    if (int failed = DoDamage(queue_fd, damage); failed != 0) return 20 + failed;
    // The daemon's touches: IPC_STAT of both, a read-only caller's wait
    // (served in the daemon), then the exit work of this process.
    wire::SemCtlRequest sem_stat{};
    sem_stat.id = set;
    sem_stat.cmd = IPC_STAT;
    (void)client.Call<wire::Op::kSemCtl>(sem_stat);
    wire::MsgCtlRequest msg_stat{};
    msg_stat.id = queue;
    msg_stat.cmd = IPC_STAT;
    (void)client.Call<wire::Op::kMsgCtl>(msg_stat);
    // Damage again (the daemon may have repaired it), then the wait.
    (void)DoDamage(set_fd, damage);
    wire::SemWaitZeroRequest wait{};
    wait.id = set;
    wait.nsops = 1;
    wait.sops[0] = wire::WireSemOp{0, 0, IPC_NOWAIT};
    const RawReply waited = client.Call<wire::Op::kSemWaitZero>(wait);
    if (waited.kind != RawReply::Kind::kMessage) return 3;  // the daemon must answer
    (void)DoDamage(set_fd, damage);
    (void)DoDamage(queue_fd, damage);
    return 0;
  });
  EXPECT_EQ(status, 0) << "attacker check " << status;
}

TEST_F(DescriptorAttackTest, SetAndQueueRegionsTruncatedToZero) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  const Victims victims = CreateVictims();
  ASSERT_TRUE(victims.ok());
  const int set = victims.set;
  const int queue = victims.queue;
  RegionAttack(dir_, set, queue, Damage::kTruncateToZero);
  EXPECT_TRUE(DaemonAlive()) << "the daemon died of B's truncation";

  // A, a user of the attacked objects: each call answers (a result or an
  // error for that object), none faults.
  const int owner = RunAs(kOwnerA, [&] {
    semid_ds sem_ds{};
    (void)sysv_semctl(set, 0, IPC_STAT, &sem_ds);
    sembuf down{0, -1, IPC_NOWAIT};
    (void)sysv_semop(set, &down, 1);
    msqid_ds msg_ds{};
    (void)sysv_msgctl(queue, IPC_STAT, &msg_ds);
    Message out{1, "a again"};
    (void)sysv_msgsnd(queue, &out, sizeof(out.text), IPC_NOWAIT);
    Message in{};
    (void)sysv_msgrcv(queue, &in, sizeof(in.text), 0, IPC_NOWAIT);
    return 0;
  });
  EXPECT_EQ(owner, 0) << (owner > kSignalled ? "A faulted on the attacked objects" : "A's check failed");
  ExpectOnlyTheAttackedObjectsHarmed(victims);
}

TEST_F(DescriptorAttackTest, SetAndQueueRegionsHalvedAndPunched) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  const Victims victims = CreateVictims();
  ASSERT_TRUE(victims.ok());
  RegionAttack(dir_, victims.set, victims.queue, Damage::kGrowThenTruncateHalf);
  // The daemon's exit work on the set faulted while it held the set's lock:
  // the repair must not leave that lock held in the file. A's semop and
  // msgsnd go through at once.
  const int usable = RunAs(kOwnerA, [&] {
    const auto start = std::chrono::steady_clock::now();
    sembuf up{1, 1, IPC_NOWAIT};
    if (sysv_semop(victims.set, &up, 1) != 0) return 1;
    Message out{1, "a after"};
    if (sysv_msgsnd(victims.queue, &out, sizeof(out.text), IPC_NOWAIT) != 0) return 2;
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(1)) return 3;
    return 0;
  });
  EXPECT_EQ(usable, 0) << "the attacked objects stayed unusable or slow after their repair";
  RegionAttack(dir_, victims.set, victims.queue, Damage::kPunchEverything);
  // IPC_RMID (in the check) touches the regions too: it wakes their waiters.
  ExpectOnlyTheAttackedObjectsHarmed(victims);
}

// The size checks alone would lose a race: B cuts and restores the files
// as fast as it can while another of B's processes keeps the daemon
// touching them (IPC_STAT, read-only waits, exits with work on the set).
// The guard must absorb every fault that lands between a check and a touch,
// and a futex call on a page that went must not abort the daemon.
TEST_F(DescriptorAttackTest, TruncationRacingTheDaemonsTouches) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  const Victims victims = CreateVictims();
  ASSERT_TRUE(victims.ok());
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  const pid_t cutter = fork();
  ASSERT_GE(cutter, 0);
  if (cutter == 0) {
    _exit(RunAs(kAttackerB, [&] {
      RawClient client(dir_);
      if (!client.ok() || client.Register() != 0) return 1;
      const RegionFds fds = OpenRegions(client, victims.set, victims.queue);
      const int set_fd = fds.set;
      const int queue_fd = fds.queue;
      struct stat set_st {}, queue_st {};
      if (set_fd < 0 || queue_fd < 0 || fstat(set_fd, &set_st) != 0 || fstat(queue_fd, &queue_st) != 0) return 2;
      while (std::chrono::steady_clock::now() < until) {
        if (!ResizeGoesThrough(ftruncate(set_fd, 0), set_fd) || !ResizeGoesThrough(ftruncate(queue_fd, 0), queue_fd) ||
            !ResizeGoesThrough(ftruncate(set_fd, set_st.st_size), set_fd) ||
            !ResizeGoesThrough(ftruncate(queue_fd, queue_st.st_size), queue_fd)) {
          return 3;
        }
      }
      return 0;
    }));
  }
  int rounds = 0;
  while (std::chrono::steady_clock::now() < until && DaemonAlive()) {
    const int status = RunAs(kAttackerB, [&] {
      RawClient client(dir_);
      if (!client.ok() || client.Register() != 0) return 1;
      for (int i = 0; i < 20; ++i) {
        (void)client.Call<wire::Op::kSemOpen>(wire::SemOpenRequest{victims.set, 0});  // exit work on it
        wire::SemCtlRequest sem_stat{};
        sem_stat.id = victims.set;
        sem_stat.cmd = IPC_STAT;
        if (client.Call<wire::Op::kSemCtl>(sem_stat).kind != RawReply::Kind::kMessage) return 2;
        wire::MsgCtlRequest msg_stat{};
        msg_stat.id = victims.queue;
        msg_stat.cmd = IPC_STAT;
        if (client.Call<wire::Op::kMsgCtl>(msg_stat).kind != RawReply::Kind::kMessage) return 3;
        wire::SemWaitZeroRequest wait{};
        wait.id = victims.set;
        wait.nsops = 1;
        wait.sops[0] = wire::WireSemOp{0, 0, IPC_NOWAIT};
        if (client.Call<wire::Op::kSemWaitZero>(wait).kind != RawReply::Kind::kMessage) return 4;
      }
      return 0;
    });
    EXPECT_EQ(status, 0) << "the daemon stopped answering B";
    if (status != 0) break;
    ++rounds;
  }
  int status = 0;
  ASSERT_EQ(waitpid(cutter, &status, 0), cutter);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "cutter status " << status;
  EXPECT_GT(rounds, 0);
  ExpectOnlyTheAttackedObjectsHarmed(victims);
}

// B truncates while the daemon is down; the daemon starts on the truncated
// files. A's later msgsnd and semop on them answer; nobody else notices.
TEST_F(DescriptorAttackTest, DaemonRestartedOnTruncatedRegions) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  const Victims victims = CreateVictims();
  ASSERT_TRUE(victims.ok());
  const int set = victims.set;
  const int queue = victims.queue;
  int fds_ready[2], go[2];
  ASSERT_EQ(pipe(fds_ready), 0);
  ASSERT_EQ(pipe(go), 0);
  const pid_t attacker = fork();
  ASSERT_GE(attacker, 0);
  if (attacker == 0) {
    _exit(RunAs(kAttackerB, [&] {
      RawClient client(dir_);
      if (!client.ok() || client.Register() != 0) return 1;
      const RegionFds fds = OpenRegions(client, set, queue);
      const int set_fd = fds.set;
      const int queue_fd = fds.queue;
      if (set_fd < 0 || queue_fd < 0) return 2;
      client.Close();
      char byte = 1;
      if (write(fds_ready[1], &byte, 1) != 1) return 3;
      if (read(go[0], &byte, 1) != 1) return 4;
      if (!ResizeGoesThrough(ftruncate(set_fd, 0), set_fd) || !ResizeGoesThrough(ftruncate(queue_fd, 0), queue_fd)) {
        return 5;
      }
      return 0;
    }));
  }
  char byte = 0;
  ASSERT_EQ(read(fds_ready[0], &byte, 1), 1);
  daemon_->Kill();
  ASSERT_EQ(write(go[1], &byte, 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(attacker, &status, 0), attacker);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "attacker status " << status;
  daemon_->Start();
  daemon_pid_ = daemon_->pid();
  ASSERT_TRUE(DaemonAlive());

  const int owner = RunAs(kOwnerA, [&] {
    Message out{1, "after restart"};
    (void)sysv_msgsnd(queue, &out, sizeof(out.text), IPC_NOWAIT);
    Message in{};
    (void)sysv_msgrcv(queue, &in, sizeof(in.text), 0, IPC_NOWAIT);
    sembuf up{0, 1, 0};
    (void)sysv_semop(set, &up, 1);
    semid_ds sem_ds{};
    (void)sysv_semctl(set, 0, IPC_STAT, &sem_ds);
    msqid_ds msg_ds{};
    (void)sysv_msgctl(queue, IPC_STAT, &msg_ds);
    return 0;
  });
  EXPECT_EQ(owner, 0) << (owner > kSignalled ? "A faulted on the attacked objects" : "A's check failed");
  // A new queue after the restart works for A (no poisoned msgsnd).
  const int fresh = RunAs(kOwnerA, [] {
    const int q = sysv_msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (q < 0) return 1;
    Message out{1, "fresh"};
    if (sysv_msgsnd(q, &out, sizeof(out.text), IPC_NOWAIT) != 0) return 2;
    return sysv_msgctl(q, IPC_RMID, nullptr) == 0 ? 0 : 3;
  });
  EXPECT_EQ(fresh, 0);
  ExpectOnlyTheAttackedObjectsHarmed(victims);
  for (int fd : {fds_ready[0], fds_ready[1], go[0], go[1]}) close(fd);
}

}  // namespace
}  // namespace sysv
