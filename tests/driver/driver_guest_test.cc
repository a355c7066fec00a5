// Runs inside the QEMU guest with sysvipc.ko loaded (qemu_driver_test.sh):
// the driver used directly, as the daemon uses it, checked against the
// guest kernel's own SysV shm and attacked as an unprivileged user.
//
//   driver_guest_test            all suites; prints a GUEST-TALLY line
//   driver_guest_test hold FD    (the exec step's child)
#include <fcntl.h>
#include <grp.h>
#include <linux/falloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "backends/common/driver/sysvipc_driver_abi.h"
#include "tests/driver/guest_check.h"
#include "tests/driver/nattch_scenario.h"

namespace sysv::guest {
namespace {

constexpr size_t kSize = 4 * 4096;
constexpr uid_t kAttacker = 3400;  // this engineer's test range (3400-3499)
std::string g_self_exe;

int OpenDevice() { return open(SYSVIPC_DEVICE_PATH, O_RDWR | O_CLOEXEC); }

struct Created {
  uint32_t id = 0;
  int fd = -1;
};

Created Create(int dev, uint64_t size, uint32_t flags = 0) {
  sysvipc_create c{};
  c.size = size;
  c.flags = flags;
  Created out;
  if (ioctl(dev, SYSVIPC_IOC_CREATE, &c) == 0) {
    out.id = c.id;
    out.fd = c.fd;
  }
  return out;
}

int OpenObject(int dev, uint32_t id, bool readonly) {
  sysvipc_open o{};
  o.id = id;
  o.flags = readonly ? SYSVIPC_OPEN_READONLY : 0;
  return ioctl(dev, SYSVIPC_IOC_OPEN, &o) == 0 ? o.fd : -1;
}

bool Stat(int dev, uint32_t id, sysvipc_stat *s) {
  *s = sysvipc_stat{};
  s->id = id;
  return ioctl(dev, SYSVIPC_IOC_STAT, s) == 0;
}

int Remove(int dev, uint32_t id) {
  sysvipc_remove r{};
  r.id = id;
  if (ioctl(dev, SYSVIPC_IOC_REMOVE, &r) != 0) return -errno;
  return static_cast<int>(r.gone);
}

class DriverSide : public ShmSide {
 public:
  explicit DriverSide(int dev) : dev_(dev), obj_(Create(dev, kSize)) {}
  ~DriverSide() override {
    close(obj_.fd);
    Remove(dev_, obj_.id);
  }
  std::string Name() const override { return "driver"; }
  char *Attach() override {
    void *p = mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, obj_.fd, 0);
    return p == MAP_FAILED ? nullptr : static_cast<char *>(p);
  }
  int64_t Nattch() override {
    sysvipc_stat s;
    return Stat(dev_, obj_.id, &s) ? static_cast<int64_t>(s.nattch) : -1;
  }
  int64_t Lpid() override {
    sysvipc_stat s;
    return Stat(dev_, obj_.id, &s) ? s.lpid : -1;
  }

 private:
  int dev_;
  Created obj_;
};

void NattchDifferential(int dev) {
  std::vector<Step> kernel, driver;
  {
    CallsSide k(ShmCalls{"kernel", shmget, shmat, shmctl});
    kernel = RunNattchScenario(k, g_self_exe);
  }
  {
    DriverSide d(dev);
    driver = RunNattchScenario(d, g_self_exe);
  }
  CompareTraces(kernel, driver, "nattch differential kernel vs driver");
}

// Runs `body` in a child as the attacker (uid/gid 3400) and returns whether
// it exited 0. The child's checks count in its own tally, so it reports
// failures through its exit status.
template <typename Body>
bool AsAttacker(Body body) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (setgroups(0, nullptr) != 0 || setgid(kAttacker) != 0 || setuid(kAttacker) != 0) _exit(2);
    GlobalTally() = Tally{};
    body();
    _exit(GlobalTally().failed == 0 ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void DescriptorAttacks(int dev) {
  Created obj = Create(dev, kSize);
  Check(obj.fd >= 0, "create an object");
  char *mine =
      static_cast<char *>(mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, obj.fd, 0));
  Check(mine != MAP_FAILED, "map it read-write");
  if (mine == MAP_FAILED) return;
  std::memset(mine, 0x5a, kSize);
  const int ro = OpenObject(dev, obj.id, /*readonly=*/true);
  Check(ro >= 0, "open a read-only descriptor");
  const int rw = obj.fd;

  const bool attacker_ok = AsAttacker([&] {
    GUEST_CHECK_ERRNO(open(SYSVIPC_DEVICE_PATH, O_RDWR), EACCES,
                      "attacker cannot open /dev/sysvipc");
    int rc = ftruncate(rw, 0);
    Check(rc == -1, "ftruncate to 0 fails", "succeeded");
    rc = ftruncate(rw, 1 << 30);
    Check(rc == -1, "ftruncate to grow fails", "succeeded");
    rc = fallocate(rw, 0, 0, 1 << 30);
    Check(rc == -1, "fallocate fails", "succeeded");
    rc = fallocate(rw, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, kSize);
    Check(rc == -1, "hole punch fails", "succeeded");
    GUEST_CHECK_ERRNO(fcntl(rw, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_WRITE), EINVAL,
                      "F_ADD_SEALS fails with EINVAL");
    char buf[8] = {};
    Check(write(rw, buf, sizeof buf) == -1, "write() on the descriptor fails", "succeeded");
    Check(read(rw, buf, sizeof buf) == -1, "read() on the descriptor fails", "succeeded");
    GUEST_CHECK_ERRNO(
        reinterpret_cast<long>(mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0)),
        EACCES, "writable mmap of a read-only descriptor: EACCES");
    void *r = mmap(nullptr, kSize, PROT_READ, MAP_SHARED, ro, 0);
    Check(r != MAP_FAILED, "read-only mapping of the read-only descriptor");
    if (r != MAP_FAILED) {
      GUEST_CHECK_ERRNO(mprotect(r, kSize, PROT_READ | PROT_WRITE), EACCES,
                        "mprotect of the read-only mapping to writable: EACCES");
      CheckEq(static_cast<char *>(r)[100], 0x5a, "the read-only mapping reads the data");
    }
    GUEST_CHECK_ERRNO(
        reinterpret_cast<long>(mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0)),
        EINVAL, "private mapping refused with EINVAL");
    const std::string path = "/proc/self/fd/" + std::to_string(ro);
    const int reopened = open(path.c_str(), O_RDWR);
    Check(reopened == -1, "reopen of the read-only descriptor read-write fails", "succeeded");
    void *big = mmap(nullptr, 16 * kSize, PROT_READ, MAP_SHARED, rw, 0);
    if (big != MAP_FAILED) {
      // Beyond the end is SIGBUS territory, as for a shmat'ed segment; the
      // size must not have changed for it.
      munmap(big, 16 * kSize);
    }
  });
  Check(attacker_ok, "every attack by uid 3400 failed");

  sysvipc_stat s;
  Check(Stat(dev, obj.id, &s), "the driver still answers after the attacks");
  CheckEq(s.size, kSize, "object size unchanged");
  bool intact = true;
  for (size_t i = 0; i < kSize; ++i) intact = intact && mine[i] == 0x5a;
  Check(intact, "object contents intact");
  CheckEq(s.nattch, 1, "nattch back to the owner's one mapping");
  munmap(mine, kSize);
  close(ro);
  close(rw);
  CheckEq(Remove(dev, obj.id), 1, "remove an unmapped object: gone at once");
}

void InputValidation(int dev) {
  GUEST_CHECK_ERRNO(ioctl(dev, _IO(SYSVIPC_IOC_MAGIC, 99)), ENOTTY, "unknown ioctl: ENOTTY");
  sysvipc_version v{};
  Check(ioctl(dev, SYSVIPC_IOC_VERSION, &v) == 0 && v.version == SYSVIPC_ABI_VERSION,
        "ABI version");
  sysvipc_create c{};
  GUEST_CHECK_ERRNO(ioctl(dev, SYSVIPC_IOC_CREATE, &c), EINVAL, "create of size 0: EINVAL");
  c.size = 4096;
  c.reserved = 1;
  GUEST_CHECK_ERRNO(ioctl(dev, SYSVIPC_IOC_CREATE, &c), EINVAL, "reserved field set: EINVAL");
  c.reserved = 0;
  c.flags = 0x100;
  GUEST_CHECK_ERRNO(ioctl(dev, SYSVIPC_IOC_CREATE, &c), EINVAL, "unknown flag: EINVAL");
  c.flags = 0;
  c.size = ~uint64_t{0};
  GUEST_CHECK_ERRNO(ioctl(dev, SYSVIPC_IOC_CREATE, &c), EINVAL, "size 2^64-1: EINVAL");
  GUEST_CHECK_ERRNO(ioctl(dev, SYSVIPC_IOC_CREATE, reinterpret_cast<void *>(8)), EFAULT,
                    "create with a bad pointer: EFAULT");
  sysvipc_open o{};
  o.id = 0x7ffffff0;
  GUEST_CHECK_ERRNO(ioctl(dev, SYSVIPC_IOC_OPEN, &o), ENOENT, "open of an unknown id: ENOENT");
  o.id = 0xfffffff0;
  GUEST_CHECK_ERRNO(ioctl(dev, SYSVIPC_IOC_OPEN, &o), ENOENT, "open of id > INT_MAX: ENOENT");
  sysvipc_list l{};
  l.count = SYSVIPC_LIST_MAX + 1;
  l.ids = 4096;
  GUEST_CHECK_ERRNO(ioctl(dev, SYSVIPC_IOC_LIST, &l), EINVAL, "list over the max: EINVAL");
  Created obj = Create(dev, 4096);
  l.count = 4;
  l.after = 0;
  l.ids = 8;  // unmapped
  GUEST_CHECK_ERRNO(ioctl(dev, SYSVIPC_IOC_LIST, &l), EFAULT, "list into a bad buffer: EFAULT");
  sysvipc_event ev[2];
  GUEST_CHECK_ERRNO(read(dev, ev, 4), EINVAL, "read shorter than an event: EINVAL");
  const int flags = fcntl(dev, F_GETFL);
  fcntl(dev, F_SETFL, flags | O_NONBLOCK);
  GUEST_CHECK_ERRNO(read(dev, ev, sizeof ev), EAGAIN, "read with no event: EAGAIN");
  fcntl(dev, F_SETFL, flags);
  CheckEq(Remove(dev, 0), -EINVAL, "remove id 0: EINVAL");
  CheckEq(Remove(dev, obj.id), 1,
          "remove of an object with an open fd but no mapping: gone at once");
  close(obj.fd);
  const int second = OpenDevice();
  GUEST_CHECK_ERRNO(second, EBUSY, "a second opener of the device: EBUSY");
}

// The memlock sum per user, compared with the kernel's SHM_LOCK under the
// same RLIMIT_MEMLOCK (the kernel sums per user too, in its ucounts).
void MemlockDifferential(int dev) {
  constexpr uint64_t kLimit = 4 * 4096;
  // Kernel: as the attacker user, RLIMIT_MEMLOCK 16 KiB.
  const pid_t pid = fork();
  if (pid == 0) {
    rlimit rl{kLimit, kLimit};
    setrlimit(RLIMIT_MEMLOCK, &rl);
    if (setgid(kAttacker + 1) != 0 || setuid(kAttacker + 1) != 0) _exit(90);
    const int a = shmget(IPC_PRIVATE, kSize, 0600);
    const int b = shmget(IPC_PRIVATE, 4096, 0600);
    int code = 0;
    if (shmctl(a, SHM_LOCK, nullptr) != 0) code |= 1;
    if (shmctl(b, SHM_LOCK, nullptr) == 0 || errno != ENOMEM) code |= 2;
    shmctl(a, SHM_UNLOCK, nullptr);
    if (shmctl(b, SHM_LOCK, nullptr) != 0) code |= 4;
    shmctl(a, IPC_RMID, nullptr);
    shmctl(b, IPC_RMID, nullptr);
    _exit(code);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CheckEq(WEXITSTATUS(status), 0,
          "kernel: SHM_LOCK sums per user (16K ok, +4K ENOMEM, unlock, ok)");

  Created a = Create(dev, kSize);
  Created b = Create(dev, 4096);
  sysvipc_lock l{};
  l.uid = kAttacker + 1;
  l.memlock_limit = kLimit;
  l.op = SYSVIPC_LOCK_LOCK;
  l.id = a.id;
  CheckEq(ioctl(dev, SYSVIPC_IOC_LOCK, &l), 0, "driver: SHM_LOCK of 16K under a 16K limit");
  sysvipc_stat s;
  Check(Stat(dev, a.id, &s) && (s.flags & SYSVIPC_STAT_LOCKED), "driver: STAT says locked");
  l.id = b.id;
  GUEST_CHECK_ERRNO(ioctl(dev, SYSVIPC_IOC_LOCK, &l), ENOMEM,
                    "driver: SHM_LOCK of 4K more: ENOMEM, as the kernel");
  l.id = a.id;
  l.op = SYSVIPC_LOCK_UNLOCK;
  CheckEq(ioctl(dev, SYSVIPC_IOC_LOCK, &l), 0, "driver: SHM_UNLOCK");
  l.id = b.id;
  l.op = SYSVIPC_LOCK_LOCK;
  CheckEq(ioctl(dev, SYSVIPC_IOC_LOCK, &l), 0, "driver: then the 4K fits");
  close(a.fd);
  close(b.fd);
  Remove(dev, a.id);
  Remove(dev, b.id);  // locked: destruction refunds the charge
  l.id = 0;
  GUEST_CHECK_ERRNO(ioctl(dev, SYSVIPC_IOC_LOCK, &l), EINVAL, "lock of id 0: EINVAL");
}

bool WaitEvent(int dev, uint32_t want_id, int timeout_ms) {
  pollfd p{dev, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) != 1) return false;
  sysvipc_event ev{};
  return read(dev, &ev, sizeof ev) == sizeof ev && ev.id == want_id &&
         ev.kind == SYSVIPC_EVENT_LAST_DETACH;
}

// The daemon SIGKILLed with an object mapped by a client; a new daemon
// finds it, and learns of its last detach after removal.
void DaemonRestart(int *dev) {
  close(*dev);
  int to_parent[2];
  if (pipe(to_parent) != 0) return;
  const pid_t daemon1 = fork();
  if (daemon1 == 0) {
    const int d = OpenDevice();
    Created obj = Create(d, kSize);
    char *p =
        static_cast<char *>(mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, obj.fd, 0));
    if (p == MAP_FAILED) _exit(1);
    std::memset(p, 0x33, kSize);
    munmap(p, kSize);
    const pid_t client = fork();
    if (client == 0) {
      // The client: maps and keeps it across the daemon's death.
      close(d);
      mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, obj.fd, 0);
      close(obj.fd);
      setsid();
      for (;;) pause();
    }
    struct {
      uint32_t id;
      pid_t client;
    } msg{obj.id, client};
    if (write(to_parent[1], &msg, sizeof msg) != sizeof msg) _exit(1);
    for (;;) pause();
  }
  close(to_parent[1]);
  struct {
    uint32_t id;
    pid_t client;
  } msg{};
  const bool got = read(to_parent[0], &msg, sizeof msg) == sizeof msg;
  close(to_parent[0]);
  Check(got, "first daemon created an object and a client mapped it");
  usleep(100 * 1000);  // let the client map it
  kill(daemon1, SIGKILL);
  waitpid(daemon1, nullptr, 0);

  *dev = OpenDevice();
  Check(*dev >= 0, "the restarted daemon opens the device");
  uint32_t ids[16] = {};
  sysvipc_list l{};
  l.ids = reinterpret_cast<uint64_t>(ids);
  l.count = 16;
  bool found = false;
  if (ioctl(*dev, SYSVIPC_IOC_LIST, &l) == 0) {
    for (uint32_t i = 0; i < l.count; ++i) found = found || ids[i] == msg.id;
  }
  Check(found, "the restarted daemon lists the object");
  sysvipc_stat s;
  Check(Stat(*dev, msg.id, &s), "and reads its facts");
  CheckEq(s.nattch, 1, "nattch is the surviving client's mapping");
  CheckEq(s.lpid, msg.client, "lpid is the client");
  const int fd = OpenObject(*dev, msg.id, true);
  char *p = static_cast<char *>(mmap(nullptr, kSize, PROT_READ, MAP_SHARED, fd, 0));
  Check(p != MAP_FAILED && p[kSize - 1] == 0x33, "contents survived the daemon");
  if (p != MAP_FAILED) munmap(p, kSize);
  close(fd);
  CheckEq(Remove(*dev, msg.id), 0, "remove while mapped waits for the last detach");
  Check(Stat(*dev, msg.id, &s) && (s.flags & SYSVIPC_STAT_REMOVED), "STAT says removed");
  CheckEq(Remove(*dev, msg.id), -EIDRM, "a second remove: EIDRM");
  kill(msg.client, SIGKILL);
  waitpid(msg.client, nullptr, 0);  // not our child: returns at once
  Check(WaitEvent(*dev, msg.id, 5000), "last detach (kill -9) reported by poll+read");
  GUEST_CHECK_ERRNO(Stat(*dev, msg.id, &s) ? 0 : -1, ENOENT, "then the id is gone");
}

// A gone object cannot be mapped again through a descriptor kept open.
void NoMapAfterGone(int dev) {
  Created obj = Create(dev, kSize);
  void *p = mmap(nullptr, kSize, PROT_READ, MAP_SHARED, obj.fd, 0);
  CheckEq(Remove(dev, obj.id), 0, "remove while mapped");
  munmap(p, kSize);
  Check(WaitEvent(dev, obj.id, 2000), "munmap is the reported last detach");
  GUEST_CHECK_ERRNO(reinterpret_cast<long>(mmap(nullptr, kSize, PROT_READ, MAP_SHARED, obj.fd, 0)),
                    EIDRM, "mapping a gone object through a kept descriptor: EIDRM");
  close(obj.fd);
}

void UnloadRefused(int *dev) {
  Created obj = Create(*dev, 4096);
  close(obj.fd);
  close(*dev);
  // delete_module() answers EWOULDBLOCK while the module is in use.
  GUEST_CHECK_ERRNO(syscall(SYS_delete_module, "sysvipc", O_NONBLOCK), EWOULDBLOCK,
                    "rmmod with a live object is refused");
  *dev = OpenDevice();
  CheckEq(Remove(*dev, obj.id), 1, "remove it");
}

}  // namespace
}  // namespace sysv::guest

int main(int argc, char **argv) {
  using namespace sysv::guest;
  if (argc == 3 && std::string(argv[1]) == "hold") return HoldMain(std::atoi(argv[2]));
  char exe[4096] = {};
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  g_self_exe = n > 0 ? std::string(exe, n) : argv[0];

  int dev = OpenDevice();
  if (!Check(dev >= 0, "open /dev/sysvipc as root", std::strerror(errno))) {
    return Finish("driver");
  }
  NattchDifferential(dev);
  DescriptorAttacks(dev);
  InputValidation(dev);
  MemlockDifferential(dev);
  NoMapAfterGone(dev);
  DaemonRestart(&dev);
  UnloadRefused(&dev);
  close(dev);
  return Finish("driver");
}
