// Runs inside the QEMU guest (qemu_driver_test.sh): libsysv over the real
// sysvipcd, with --driver=on (segments are /dev/sysvipc objects) or
// --driver=off (the region-file fallback), against the guest kernel's own
// SysV shm.
//
//   libsysv_guest_test on|off NSDIR SYSVIPCD   the suite for that mode
//   libsysv_guest_test attack on|off KEY       (the attacker, re-executed)
//   libsysv_guest_test hold FD                 (the exec step's child)
#include <fcntl.h>
#include <grp.h>
#include <linux/falloc.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "sysv/sysv.h"
#include "tests/driver/guest_check.h"
#include "tests/driver/nattch_scenario.h"

namespace sysv::guest {
namespace {

constexpr size_t kSize = 4 * 4096;
constexpr uid_t kAttacker = 3402;  // this engineer's test range (3400-3499)
constexpr key_t kAttackKey = 0x5eed16;
std::string g_self_exe;
std::string g_mode;
std::string g_dir;
std::string g_daemon;

bool On() { return g_mode == "on"; }

// Starts sysvipcd for the namespace (it detaches once it serves).
bool StartDaemon() {
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string dir = "--dir=" + g_dir;
    const std::string driver = "--driver=" + g_mode;
    execl(g_daemon.c_str(), g_daemon.c_str(), dir.c_str(), driver.c_str(), nullptr);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

pid_t DaemonPid() {
  std::ifstream lock(g_dir + "/sysvipcd.lock");
  pid_t pid = 0;
  lock >> pid;
  return pid;
}

std::string DriverStatusLine() {
  std::ifstream in(g_dir + "/sysvipcd.driver");
  std::string line;
  std::getline(in, line);
  return line;
}

void NattchDifferential() {
  std::vector<Step> kernel, lib;
  {
    CallsSide k(ShmCalls{"kernel", shmget, shmat, shmctl});
    kernel = RunNattchScenario(k, g_self_exe);
  }
  {
    CallsSide l(ShmCalls{"libsysv", sysv_shmget, sysv_shmat, sysv_shmctl});
    lib = RunNattchScenario(l, g_self_exe);
  }
  if (On()) {
    CompareTraces(kernel, lib, "nattch differential kernel vs libsysv --driver=on");
    return;
  }
  // The fallback counts attachments, not mappings (README): report where it
  // differs, check only that it agrees when no mapping was split.
  for (size_t i = 0; i < kernel.size() && i < lib.size(); ++i) {
    std::printf("info - --driver=off nattch after %s: kernel %lld, libsysv %lld\n",
                kernel[i].what.c_str(), static_cast<long long>(kernel[i].nattch),
                static_cast<long long>(lib[i].nattch));
  }
}

// The basic life of a segment, which both modes must get right.
void Basics() {
  const int id = sysv_shmget(IPC_PRIVATE, kSize, IPC_CREAT | 0600);
  Check(id >= 0, "shmget through sysvipcd --driver=" + g_mode);
  char* p = static_cast<char*>(sysv_shmat(id, nullptr, 0));
  Check(p != reinterpret_cast<char*>(-1), "shmat", p == reinterpret_cast<char*>(-1) ? std::strerror(errno) : "");
  if (p == reinterpret_cast<char*>(-1)) return;
  std::memset(p, 0x42, kSize);
  shmid_ds ds{};
  sysv_shmctl(id, IPC_STAT, &ds);
  CheckEq(ds.shm_nattch, 1, "IPC_STAT nattch 1 after shmat");
  CheckEq(ds.shm_segsz, kSize, "IPC_STAT segsz");
  Check(ds.shm_atime > 0, "IPC_STAT atime set");
  const pid_t child = fork();
  if (child == 0) {
    for (;;) pause();
  }
  usleep(50 * 1000);
  sysv_shmctl(id, IPC_STAT, &ds);
  CheckEq(ds.shm_nattch, 2, "fork: nattch 2");
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  usleep(50 * 1000);
  sysv_shmctl(id, IPC_STAT, &ds);
  CheckEq(ds.shm_nattch, 1, "child killed: nattch 1");
  CheckEq(sysv_shmctl(id, IPC_RMID, nullptr), 0, "IPC_RMID while attached");
  CheckEq(p[kSize - 1], 0x42, "still readable after IPC_RMID");
  CheckEq(sysv_shmdt(p), 0, "shmdt, the last detach");
  usleep(50 * 1000);
  GUEST_CHECK_ERRNO(sysv_shmctl(id, IPC_STAT, &ds), EINVAL,
                    "segment destroyed at its last detach after IPC_RMID");
}

// The attacker: attaches a 0666 segment read-write and read-only, then
// turns every descriptor libsysv gave it against the segment.
int AttackMain(const std::string& mode, key_t key) {
  g_mode = mode;
  const int id = sysv_shmget(key, 0, 0);
  if (id < 0) return 90;
  char* rw = static_cast<char*>(sysv_shmat(id, nullptr, 0));
  char* ro = static_cast<char*>(sysv_shmat(id, nullptr, SHM_RDONLY));
  if (rw == reinterpret_cast<char*>(-1) || ro == reinterpret_cast<char*>(-1)) return 91;
  std::vector<int> fds;
  for (int fd = 3; fd < 256; ++fd) {
    char link[256] = {};
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    if (readlink(path.c_str(), link, sizeof link - 1) <= 0) continue;
    const std::string target = link;
    if (target.find("[sysvipc]") != std::string::npos || target.find("/shm/") != std::string::npos) {
      fds.push_back(fd);
    }
  }
  auto outcome = [&](const std::string& what, bool failed) {
    if (On()) {
      Check(failed, "attack " + what + " fails", "succeeded");
    } else {
      std::printf("info - --driver=off: attack %s %s\n", what.c_str(),
                  failed ? "failed" : "SUCCEEDED");
    }
  };
  if (On()) Check(fds.size() >= 1, "the attacker holds the driver's descriptors");
  for (int fd : fds) {
    const std::string n = " on fd " + std::to_string(fd);
    outcome("ftruncate to 0" + n, ftruncate(fd, 0) != 0);
    outcome("ftruncate to 1 GiB" + n, ftruncate(fd, 1 << 30) != 0);
    outcome("fallocate 1 GiB" + n, fallocate(fd, 0, 0, 1 << 30) != 0);
    outcome("hole punch" + n, fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, kSize) != 0);
    outcome("F_ADD_SEALS" + n, fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) != 0);
  }
  sysv_shmdt(rw);
  sysv_shmdt(ro);
  // A segment it may only read (0644, root's): its attach, read-only, must
  // stay so. (A process that may also write maps an SHM_RDONLY attach from
  // the read-write descriptor it holds: see the report's differences.)
  const int ro_id = sysv_shmget(key + 1, 0, 0);
  char* ro_only = static_cast<char*>(sysv_shmat(ro_id, nullptr, SHM_RDONLY));
  if (ro_only == reinterpret_cast<char*>(-1)) return 92;
  outcome("mprotect of a read-only user's attach to writable",
          mprotect(ro_only, kSize, PROT_READ | PROT_WRITE) != 0);
  sysv_shmdt(ro_only);
  return GlobalTally().failed == 0 ? 0 : 1;
}

void DescriptorAttacks() {
  const int id = sysv_shmget(kAttackKey, kSize, IPC_CREAT | 0666);
  char* p = static_cast<char*>(sysv_shmat(id, nullptr, 0));
  if (!Check(p != reinterpret_cast<char*>(-1), "victim attaches the attacked segment")) return;
  std::memset(p, 0x77, kSize);
  const int ro_id = sysv_shmget(kAttackKey + 1, kSize, IPC_CREAT | 0644);
  const pid_t pid = fork();
  if (pid == 0) {
    // Raw syscalls: libsysv wraps setuid() and friends through the dynamic
    // linker, which a static binary has not; this child is one thread.
    if (syscall(SYS_setgroups, 0, nullptr) != 0 || syscall(SYS_setgid, kAttacker) != 0 ||
        syscall(SYS_setuid, kAttacker) != 0) {
      _exit(2);
    }
    const std::string key = std::to_string(kAttackKey);
    execl(g_self_exe.c_str(), g_self_exe.c_str(), "attack", g_mode.c_str(), key.c_str(), nullptr);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (On()) {
    Check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "every descriptor attack by uid 3402 failed",
          "status " + std::to_string(status));
  }
  shmid_ds ds{};
  Check(sysv_shmctl(id, IPC_STAT, &ds) == 0, "the daemon answers after the attacks");
  if (On()) {
    CheckEq(ds.shm_segsz, kSize, "segment size unchanged");
    bool intact = true;
    for (size_t i = 0; i < kSize; ++i) intact = intact && p[i] == 0x77;
    Check(intact, "segment contents intact");
    CheckEq(ds.shm_nattch, 1, "nattch: the victim's one attach");
  }
  sysv_shmdt(p);
  sysv_shmctl(id, IPC_RMID, nullptr);
  sysv_shmctl(ro_id, IPC_RMID, nullptr);
}

// shmget(SHM_HUGETLB) and shmctl(SHM_LOCK) answers, compared with the
// guest kernel's, as root and as a user with a 16 KiB RLIMIT_MEMLOCK. Each
// side runs in its own child; the child reports its errnos.
struct LockAnswers {
  int huge_root = 0;    // errno of shmget(2 MiB, SHM_HUGETLB) as root, 0 if ok
  int huge_user = 0;    // the same as uid 3403 (not in vm.hugetlb_shm_group)
  int lock_first = 0;   // SHM_LOCK of a 16 KiB segment
  int lock_second = 0;  // SHM_LOCK of 4 KiB more (the user's sum over the limit)
  int lock_after = 0;   // the same after SHM_UNLOCK of the first
};

template <typename Get, typename Ctl>
LockAnswers Answers(Get get, Ctl ctl) {
  int pipe_fds[2];
  LockAnswers out{};
  if (pipe(pipe_fds) != 0) return out;
  const pid_t pid = fork();
  if (pid == 0) {
    LockAnswers a{};
    const int huge = get(IPC_PRIVATE, 2 << 20, IPC_CREAT | SHM_HUGETLB | 0600);
    a.huge_root = huge < 0 ? errno : 0;
    if (huge >= 0) ctl(huge, IPC_RMID);
    rlimit rl{16384, 16384};
    setrlimit(RLIMIT_MEMLOCK, &rl);
    if (syscall(SYS_setgroups, 0, nullptr) != 0 || syscall(SYS_setgid, kAttacker + 1) != 0 ||
        syscall(SYS_setuid, kAttacker + 1) != 0) {
      _exit(2);
    }
    const int huge_user = get(IPC_PRIVATE, 2 << 20, IPC_CREAT | SHM_HUGETLB | 0600);
    a.huge_user = huge_user < 0 ? errno : 0;
    if (huge_user >= 0) ctl(huge_user, IPC_RMID);
    const int first = get(IPC_PRIVATE, 16384, IPC_CREAT | 0600);
    const int second = get(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    a.lock_first = ctl(first, SHM_LOCK) == 0 ? 0 : errno;
    a.lock_second = ctl(second, SHM_LOCK) == 0 ? 0 : errno;
    ctl(first, SHM_UNLOCK);
    a.lock_after = ctl(second, SHM_LOCK) == 0 ? 0 : errno;
    ctl(first, IPC_RMID);
    ctl(second, IPC_RMID);
    (void)!write(pipe_fds[1], &a, sizeof a);
    _exit(0);
  }
  close(pipe_fds[1]);
  (void)!read(pipe_fds[0], &out, sizeof out);
  close(pipe_fds[0]);
  waitpid(pid, nullptr, 0);
  return out;
}

void HugetlbAndLockDifferential() {
  const LockAnswers kernel = Answers([](key_t k, size_t n, int f) { return shmget(k, n, f); },
                                     [](int id, int cmd) { return shmctl(id, cmd, nullptr); });
  const LockAnswers lib = Answers([](key_t k, size_t n, int f) { return sysv_shmget(k, n, f); },
                                  [](int id, int cmd) { return sysv_shmctl(id, cmd, nullptr); });
  const std::string label = "vs kernel, --driver=" + g_mode + ": ";
  CheckEq(lib.huge_root, kernel.huge_root, label + "shmget(SHM_HUGETLB) as root, errno");
  CheckEq(lib.huge_user, kernel.huge_user, label + "shmget(SHM_HUGETLB) as a user, errno");
  CheckEq(lib.lock_first, kernel.lock_first, label + "SHM_LOCK of 16K under a 16K RLIMIT_MEMLOCK");
  if (On()) {
    CheckEq(lib.lock_second, kernel.lock_second, label + "SHM_LOCK of 4K more, errno (per-user sum)");
  } else {
    std::printf("info - --driver=off: SHM_LOCK of 4K more: kernel errno %d, libsysv errno %d\n",
                kernel.lock_second, lib.lock_second);
  }
  CheckEq(lib.lock_after, kernel.lock_after, label + "SHM_LOCK after SHM_UNLOCK of the first");
}

// Whether this process maps `name` (a line of /proc/self/maps ending so).
bool MapsEndingIn(const std::string& name) {
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    if (line.size() >= name.size() && line.compare(line.size() - name.size(), name.size(), name) == 0) {
      return true;
    }
  }
  return false;
}

// A semaphore set through sysvipcd in either mode. Its region is not a
// driver object (the client checks a region's size before mapping it): a
// sealed memfd the daemon's fd keeper holds, in either mode.
void SemBasics() {
  const int id = sysv_semget(IPC_PRIVATE, 4, IPC_CREAT | 0600);
  if (!Check(id >= 0, "semget through sysvipcd --driver=" + g_mode)) return;
  const std::string name = std::to_string(id & 0x7fff) + "." + std::to_string(static_cast<uint32_t>(id) >> 15);
  sembuf up{0, 1, 0};
  CheckEq(sysv_semop(id, &up, 1), 0, "semop +1");
  Check(MapsEndingIn("/memfd:sysvipc-sem-" + name + " (deleted)"), "the set's region is a sealed memfd");
  CheckEq(sysv_semctl(id, 0, GETVAL), 1, "GETVAL 1");
  const pid_t child = fork();
  if (child == 0) {
    sembuf down{0, -2, 0};
    _exit(sysv_semop(id, &down, 1) == 0 ? 0 : 1);
  }
  usleep(100 * 1000);
  CheckEq(sysv_semctl(id, 0, GETNCNT), 1, "a child waits for 2");
  CheckEq(sysv_semop(id, &up, 1), 0, "semop +1 wakes it");
  int status = 0;
  waitpid(child, &status, 0);
  Check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child's semop -2 completed");
  CheckEq(sysv_semctl(id, 0, GETVAL), 0, "GETVAL 0");
  CheckEq(sysv_semctl(id, 0, IPC_RMID), 0, "semctl IPC_RMID");
  Check(sysv_semctl(id, 0, GETVAL) == -1 && errno == EINVAL, "GETVAL after IPC_RMID is EINVAL");
}

// sysvipcd SIGKILLed with a live segment attached by a process; restarted,
// it counts that process's mapping and destroys the segment at its last
// detach after IPC_RMID.
void DaemonRestart() {
  const int id = sysv_shmget(IPC_PRIVATE, kSize, IPC_CREAT | 0600);
  char* p = static_cast<char*>(sysv_shmat(id, nullptr, 0));
  if (!Check(p != reinterpret_cast<char*>(-1), "attach before the daemon dies")) return;
  std::memset(p, 0x19, kSize);
  const pid_t child = fork();
  if (child == 0) {
    for (;;) pause();
  }
  usleep(50 * 1000);
  sysv_shmdt(p);
  const pid_t daemon = DaemonPid();
  Check(daemon > 0 && kill(daemon, SIGKILL) == 0, "SIGKILL sysvipcd");
  for (int i = 0; i < 200 && kill(daemon, 0) == 0; ++i) usleep(10 * 1000);
  Check(StartDaemon(), "restart sysvipcd --driver=" + g_mode);
  shmid_ds ds{};
  Check(sysv_shmctl(id, IPC_STAT, &ds) == 0, "the restarted daemon knows the segment");
  CheckEq(ds.shm_nattch, 1, "nattch: the surviving child's mapping");
  char* q = static_cast<char*>(sysv_shmat(id, nullptr, SHM_RDONLY));
  if (!Check(q != reinterpret_cast<char*>(-1) && q[100] == 0x19, "contents survived the daemon")) {
    return;
  }
  CheckEq(sysv_shmctl(id, IPC_RMID, nullptr), 0, "IPC_RMID while the child and we map it");
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  usleep(100 * 1000);  // the daemon reaps the child: one mapping (ours) is left
  // The last detach is a bare munmap: no call reaches the daemon, only the
  // driver's last-detach event can tell it to destroy the segment (its file
  // in the state directory goes).
  munmap(q, kSize);
  const std::string file = g_dir + "/state/shm/" + std::to_string(id & 0x7fff) + "." +
                           std::to_string(static_cast<uint32_t>(id) >> 15);
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = access(file.c_str(), F_OK) != 0;
    if (!gone) usleep(20 * 1000);
  }
  if (On()) {
    Check(gone, "the driver's last-detach event made the daemon destroy it, unasked", file);
  } else {
    std::printf("info - --driver=off: segment file %s after the last detach by munmap, no call\n",
                gone ? "gone" : "still there");
  }
  if (On()) {
    GUEST_CHECK_ERRNO(sysv_shmctl(id, IPC_STAT, &ds), EINVAL,
                      "the removed segment is destroyed after its last detach");
  } else {
    // The fallback's ledger still holds the attach a bare munmap ended.
    const int rc = sysv_shmctl(id, IPC_STAT, &ds);
    std::printf("info - --driver=off: IPC_STAT after that munmap: %s, nattch %lu\n",
                rc == 0 ? "segment still there" : "gone", static_cast<unsigned long>(ds.shm_nattch));
    sysv_shmctl(id, IPC_RMID, nullptr);
  }
}

}  // namespace
}  // namespace sysv::guest

int main(int argc, char** argv) {
  using namespace sysv::guest;
  if (argc == 3 && std::string(argv[1]) == "hold") return HoldMain(std::atoi(argv[2]));
  char exe[4096] = {};
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  g_self_exe = n > 0 ? std::string(exe, n) : argv[0];
  if (argc == 4 && std::string(argv[1]) == "attack") {
    return AttackMain(argv[2], static_cast<key_t>(std::atol(argv[3])));
  }
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s on|off NSDIR SYSVIPCD\n", argv[0]);
    return 2;
  }
  g_mode = argv[1];
  g_dir = argv[2];
  g_daemon = argv[3];
  setenv("SYSVIPC_DIR", g_dir.c_str(), 1);
  setenv("SYSVIPC_AUTOSTART", "0", 1);
  const std::string suite = "libsysv --driver=" + g_mode;
  if (!Check(StartDaemon(), "start sysvipcd --driver=" + g_mode)) return Finish(suite.c_str());
  const std::string status = DriverStatusLine();
  const bool says_driver = status.find("security driver /dev/sysvipc") == 0;
  Check(says_driver == On(), "the daemon's status line names what serves segments", status);
  Basics();
  NattchDifferential();
  DescriptorAttacks();
  HugetlbAndLockDifferential();
  SemBasics();
  DaemonRestart();
  const pid_t daemon = DaemonPid();
  if (daemon > 0) kill(daemon, SIGTERM);
  for (int i = 0; i < 200 && daemon > 0 && kill(daemon, 0) == 0; ++i) usleep(10 * 1000);
  return Finish(suite.c_str());
}
