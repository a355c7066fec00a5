// The daemon's environment going wrong: a second daemon on the same
// namespace, a missing or stale socket file, a stale lock, a daemon that
// speaks another protocol version, a state directory on a read-only or a
// full file system. Each must give a clear error and lose nothing: the
// objects, their contents and values are all there once the environment is
// right again.
//
// The file system cases mount small tmpfs instances in a private mount
// namespace of this test process (unshare(CLONE_NEWNS)), so nothing leaks
// onto the host; they skip, naming the errno, where mounting is refused.
//
// Message queues: MakeObjects and ExpectObjectsIntact gain a queue holding
// a message when queues exist.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "backends/common/namespace_layout.h"
#include "core/protocol/codec.h"
#include "core/protocol/wire.h"
#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/reliability/as_user.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

namespace wire = core::wire;
using testing::FreshNamespaceDir;
using testing::TestDaemon;

struct Outcome {
  int status = -1;  // exit status, or 128 + signal
  std::string output;  // stderr (and stdout)
};

// Runs `body` in a child with stderr and stdout captured; waits at most
// 20 s (a liveness bound, not a measurement: a child that hangs fails the
// test instead of hanging it).
Outcome Capture(const std::function<int()>& body) {
  int out[2];
  if (pipe(out) != 0) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    close(out[0]);
    dup2(out[1], STDERR_FILENO);
    dup2(out[1], STDOUT_FILENO);
    close(out[1]);
    _exit(body());
  }
  close(out[1]);
  Outcome outcome;
  char chunk[4096];
  for (int waited = 0;;) {
    pollfd pfd{out[0], POLLIN, 0};
    const int ready = poll(&pfd, 1, 100);
    if (ready > 0) {
      const ssize_t n = read(out[0], chunk, sizeof(chunk));
      if (n <= 0) break;
      outcome.output.append(chunk, static_cast<size_t>(n));
    } else if (++waited > 200) {
      kill(pid, SIGKILL);
      outcome.output += "\n[killed: still running after 20 s]";
      break;
    }
  }
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  outcome.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return outcome;
}

// sysvipcd itself, with `flags`, as a captured child.
Outcome RunDaemon(const std::string& dir, std::vector<std::string> flags) {
  const std::string binary = testing::RunfilePath("daemon/sysvipcd");
  std::vector<std::string> args = {binary, absl::StrCat("--dir=", dir)};
  args.insert(args.end(), flags.begin(), flags.end());
  return Capture([&] {
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    return 127;
  });
}

// The objects whose survival each test checks: a segment holding a string
// and a set holding a value, found again by key.
constexpr key_t kShmKey = 0x6e76;
constexpr key_t kSemKey = 0x6e77;
constexpr char kPayload[] = "environment";

void MakeObjects() {
  const int shm = sysv_shmget(kShmKey, 8192, IPC_CREAT | 0644);
  ASSERT_GE(shm, 0) << std::strerror(errno);
  char* p = static_cast<char*>(sysv_shmat(shm, nullptr, 0));
  ASSERT_NE(p, reinterpret_cast<char*>(-1)) << std::strerror(errno);
  std::strcpy(p + 6000, kPayload);
  ASSERT_EQ(sysv_shmdt(p), 0);
  const int sem = sysv_semget(kSemKey, 2, IPC_CREAT | 0644);
  ASSERT_GE(sem, 0) << std::strerror(errno);
  ASSERT_EQ(sysv_semctl(sem, 1, SETVAL, 42), 0) << std::strerror(errno);
}

// In a fresh process (a new connection): the objects are there, intact.
void ExpectObjectsIntact() {
  const Outcome check = Capture([] {
    const int shm = sysv_shmget(kShmKey, 0, 0);
    if (shm < 0) return 1;
    char* p = static_cast<char*>(sysv_shmat(shm, nullptr, SHM_RDONLY));
    if (p == reinterpret_cast<char*>(-1)) return 2;
    if (std::strcmp(p + 6000, kPayload) != 0) return 3;
    const int sem = sysv_semget(kSemKey, 0, 0);
    if (sem < 0) return 4;
    if (sysv_semctl(sem, 1, GETVAL) != 42) return 5;
    return 0;
  });
  EXPECT_EQ(check.status, 0) << "objects damaged (check " << check.status << "): " << check.output;
}

void RemoveObjects() {
  const int shm = sysv_shmget(kShmKey, 0, 0);
  if (shm >= 0) sysv_shmctl(shm, IPC_RMID, nullptr);
  const int sem = sysv_semget(kSemKey, 0, 0);
  if (sem >= 0) sysv_semctl(sem, 0, IPC_RMID);
}

// A fresh process's shmget, with autostart as `autostart` says.
// A newcomer's first call that only the daemon can answer: the creation of
// a key nobody made. (The child is forked from this test, so it inherits
// the mapped tables: a lookup of kShmKey would be answered from the
// table's key index, without the daemon, as core/ipc/key_index.h intends.)
constexpr key_t kNewcomerKey = 0x6e78;

Outcome FreshShmget(bool autostart) {
  return Capture([autostart] {
    if (autostart) {
      unsetenv("SYSVIPC_AUTOSTART");
    } else {
      setenv("SYSVIPC_AUTOSTART", "0", 1);
    }
    const int id = sysv_shmget(kNewcomerKey, 4096, IPC_CREAT | 0600);
    if (id >= 0) return 0;
    std::fprintf(stderr, "[errno %s]\n", strerrorname_np(errno));
    return 1;
  });
}

// The errno of connecting to `dir`'s socket (0 if it connects).
int ConnectError(const std::string& dir) {
  const int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, backend::SocketPath(dir).c_str(), sizeof(addr.sun_path) - 1);
  const int err = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 ? 0 : errno;
  close(fd);
  return err;
}

TEST(DaemonEnvironmentTest, SecondDaemonIsRefusedWithAClearMessage) {
  TestDaemon first(FreshNamespaceDir("second"));
  first.Start();
  MakeObjects();
  const std::string expected = absl::StrCat("another sysvipcd (pid ", first.pid(), ") already serves ", first.dir());
  // In the foreground, and detached (the parent must report the child's
  // failure, not claim success).
  for (const std::vector<std::string>& flags :
       {std::vector<std::string>{"--foreground"}, std::vector<std::string>{}}) {
    const Outcome second = RunDaemon(first.dir(), flags);
    EXPECT_EQ(second.status, 1) << second.output;
    EXPECT_TRUE(absl::StrContains(second.output, expected)) << second.output;
  }
  // The first one still owns and serves the namespace.
  int status = 0;
  ASSERT_EQ(waitpid(first.pid(), &status, WNOHANG), 0) << "the first daemon died";
  std::ifstream lock(backend::LockPath(first.dir()));
  int holder = 0;
  lock >> holder;
  EXPECT_EQ(holder, first.pid());
  ExpectObjectsIntact();
  RemoveObjects();
}

TEST(DaemonEnvironmentTest, MissingSocketFileGivesAClearErrorAndLosesNothing) {
  TestDaemon daemon(FreshNamespaceDir("nosock"));
  daemon.Start();
  MakeObjects();
  // This process is connected; then the socket file goes (a tmp cleaner).
  const int shm = sysv_shmget(kShmKey, 0, 0);
  ASSERT_GE(shm, 0);
  ASSERT_EQ(unlink(backend::SocketPath(daemon.dir()).c_str()), 0);

  // A newcomer without autostart: ECONNREFUSED, and a line naming the socket.
  const Outcome refused = FreshShmget(false);
  EXPECT_EQ(refused.status, 1);
  EXPECT_TRUE(absl::StrContains(refused.output, "[errno ECONNREFUSED]")) << refused.output;
  EXPECT_TRUE(absl::StrContains(refused.output, backend::SocketPath(daemon.dir()))) << refused.output;
  // With autostart: the daemon it starts finds the namespace taken, and the
  // newcomer is told so (not a second daemon, not a silent failure). The
  // library first waits (10 s) for the lock holder's socket, in case it is
  // another client's daemon still starting.
  const Outcome autostarted = FreshShmget(true);
  EXPECT_EQ(autostarted.status, 1) << autostarted.output;
  EXPECT_TRUE(absl::StrContains(autostarted.output, absl::StrCat("another sysvipcd (pid ", daemon.pid(), ")")))
      << autostarted.output;
  // Whoever is connected goes on.
  shmid_ds ds{};
  EXPECT_EQ(sysv_shmctl(shm, IPC_STAT, &ds), 0) << std::strerror(errno);
  // A restart brings the socket back, with everything.
  daemon.Stop();
  daemon.Start();
  ExpectObjectsIntact();
  RemoveObjects();
}

TEST(DaemonEnvironmentTest, StaleSocketAndLockAfterAKillAreReplaced) {
  TestDaemon daemon(FreshNamespaceDir("stale"));
  daemon.Start();
  MakeObjects();
  daemon.Kill();
  // The dead daemon's socket file and lock file are still there.
  struct stat st;
  ASSERT_EQ(stat(backend::SocketPath(daemon.dir()).c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  // A daemon killed while using io_uring may keep its listening socket
  // open a moment after it died (the kernel tears the ring down
  // asynchronously); a client then sees a reset rather than a refusal.
  // Wait for the refusal (bounded: 5 s).
  for (int i = 0; i < 500 && ConnectError(daemon.dir()) != ECONNREFUSED; ++i) usleep(10000);
  ASSERT_EQ(ConnectError(daemon.dir()), ECONNREFUSED);
  const Outcome refused = FreshShmget(false);
  EXPECT_EQ(refused.status, 1);
  EXPECT_TRUE(absl::StrContains(refused.output, "[errno ECONNREFUSED]")) << refused.output;
  EXPECT_TRUE(absl::StrContains(refused.output, "no sysvipcd answers")) << refused.output;

  // A new daemon replaces the stale socket, whatever the lock file says
  // (here: the pid of a live process that holds no lock, this one).
  {
    std::ofstream lock(backend::LockPath(daemon.dir()), std::ios::trunc);
    lock << getpid() << "\n";
  }
  daemon.Start();
  ExpectObjectsIntact();
  // And a file that is not a socket where the socket goes.
  daemon.Kill();
  ASSERT_EQ(unlink(backend::SocketPath(daemon.dir()).c_str()), 0);
  { std::ofstream junk(backend::SocketPath(daemon.dir())); junk << "not a socket"; }
  daemon.Start();
  ExpectObjectsIntact();
  RemoveObjects();
}

// A fake daemon of the next protocol version at `dir`: answers one request
// with a message that is otherwise well formed.
void ServeAsNextVersion(const std::string& dir, int listen_fd) {
  (void)dir;
  const int fd = accept(listen_fd, nullptr, nullptr);
  if (fd < 0) return;
  uint8_t buffer[wire::kMaxMessageSize];
  ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
  // A one-byte first message is the client's introduction (where the
  // connection does not name its pid: platform::IntroduceSelf); the request
  // follows.
  if (n == 1) n = recv(fd, buffer, sizeof(buffer), 0);
  if (n >= static_cast<ssize_t>(sizeof(wire::Header))) {
    wire::Header request;
    std::memcpy(&request, buffer, sizeof(request));
    std::vector<uint8_t> reply = wire::EncodeReply<wire::Op::kRegister>(request.request_id, wire::RegisterReply{});
    const uint16_t version = wire::kVersion + 1;
    std::memcpy(reply.data() + offsetof(wire::Header, version), &version, sizeof(version));
    (void)!send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
  }
  close(fd);
}

TEST(DaemonEnvironmentTest, DaemonOfAnotherProtocolVersionGivesAClearError) {
  const std::string dir = FreshNamespaceDir("version");
  const int listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  ASSERT_GE(listen_fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, backend::SocketPath(dir).c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(bind(listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << std::strerror(errno);
  ASSERT_EQ(listen(listen_fd, 4), 0);
  std::thread server([&] {
    // The library retries a broken channel once: serve both attempts.
    ServeAsNextVersion(dir, listen_fd);
  });
  const Outcome outcome = Capture([&] {
    setenv("SYSVIPC_DIR", dir.c_str(), 1);
    setenv("SYSVIPC_AUTOSTART", "0", 1);
    if (sysv_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600) >= 0) return 0;
    std::fprintf(stderr, "[errno %s]\n", strerrorname_np(errno));
    return 1;
  });
  shutdown(listen_fd, SHUT_RDWR);
  server.join();
  close(listen_fd);
  EXPECT_EQ(outcome.status, 1);
  // The library names the mismatch in errno rather than hanging or
  // claiming success, and says on stderr what to do.
  EXPECT_TRUE(absl::StrContains(outcome.output, "[errno EPROTONOSUPPORT]")) << outcome.output;
  EXPECT_TRUE(absl::StrContains(outcome.output, "speaks another protocol")) << outcome.output;
  EXPECT_TRUE(absl::StrContains(outcome.output, "sysvipc daemon stop")) << outcome.output;
}

// --- File systems. This process enters a mount namespace of its own once.
std::string PrivateMountsUnavailable() {
  static const std::string* reason = [] {
    if (unshare(CLONE_NEWNS) != 0) {
      return new std::string(absl::StrCat("unshare(CLONE_NEWNS): ", strerrorname_np(errno)));
    }
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      return new std::string(absl::StrCat("mount --make-rprivate /: ", strerrorname_np(errno)));
    }
    return new std::string();
  }();
  return *reason;
}

// A fresh tmpfs of `size` at a new short directory; "" if it cannot be made
// (the reason goes to `why`).
std::string MountTmpfs(const std::string& size, std::string* why) {
  if (const std::string reason = PrivateMountsUnavailable(); !reason.empty()) {
    *why = reason;
    return "";
  }
  char pattern[] = "/tmp/sysvipc-fs-XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    *why = "mkdtemp";
    return "";
  }
  if (mount("tmpfs", pattern, "tmpfs", 0, absl::StrCat("size=", size, ",mode=0755").c_str()) != 0) {
    *why = absl::StrCat("mount -t tmpfs: ", strerrorname_np(errno));
    return "";
  }
  return pattern;
}

#define SKIP_WITHOUT_TMPFS(mountpoint, why)                                            \
  if ((mountpoint).empty()) {                                                          \
    if (testing::RootRequired()) FAIL() << "SYSV_REQUIRE_ROOT=1 but " << (why);         \
    GTEST_SKIP() << "cannot mount a tmpfs for the state directory: " << (why);         \
  }

TEST(DaemonEnvironmentTest, ReadOnlyStateFileSystemGivesAClearErrorAndLosesNothing) {
  std::string why;
  const std::string mountpoint = MountTmpfs("32m", &why);
  SKIP_WITHOUT_TMPFS(mountpoint, why);
  const std::string dir = mountpoint + "/ns";
  TestDaemon daemon(dir);
  daemon.Start();
  // By a child: a client holds its ledger mapped writable, and this process
  // must hold nothing there, or the read-only remount is EBUSY.
  const Outcome made = Capture([] {
    MakeObjects();
    return ::testing::Test::HasFailure() ? 1 : 0;
  });
  ASSERT_EQ(made.status, 0) << made.output;
  daemon.Stop();

  ASSERT_EQ(mount(nullptr, mountpoint.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr), 0)
      << strerrorname_np(errno);
  const Outcome refused = RunDaemon(dir, {"--foreground"});
  EXPECT_EQ(refused.status, 1) << refused.output;
  EXPECT_TRUE(absl::StrContains(refused.output, "Read-only file system")) << refused.output;
  // A namespace that does not exist yet on a read-only file system.
  const Outcome fresh = RunDaemon(mountpoint + "/other", {"--foreground"});
  EXPECT_EQ(fresh.status, 1) << fresh.output;
  EXPECT_TRUE(absl::StrContains(fresh.output, "Read-only file system")) << fresh.output;

  ASSERT_EQ(mount(nullptr, mountpoint.c_str(), nullptr, MS_REMOUNT, nullptr), 0) << strerrorname_np(errno);
  daemon.Start();
  ExpectObjectsIntact();
  EXPECT_EQ(Capture([] {
              RemoveObjects();
              return 0;
            }).status,
            0);
  daemon.Stop();
  umount2(mountpoint.c_str(), MNT_DETACH);
}

TEST(DaemonEnvironmentTest, StateFileSystemTooSmallForTheTablesGivesAClearError) {
  // Each object table takes 4 MiB; 4 MiB cannot hold them.
  std::string why;
  const std::string mountpoint = MountTmpfs("4m", &why);
  SKIP_WITHOUT_TMPFS(mountpoint, why);
  const Outcome refused = RunDaemon(mountpoint + "/ns", {"--foreground"});
  EXPECT_EQ(refused.status, 1) << "not a clean refusal: " << refused.output;
  EXPECT_TRUE(absl::StrContains(refused.output, "No space left on device")) << refused.output;
  umount2(mountpoint.c_str(), MNT_DETACH);
}

TEST(DaemonEnvironmentTest, FullStateFileSystemGivesErrorsNotCrashesAndLosesNothing) {
  std::string why;
  const std::string mountpoint = MountTmpfs("32m", &why);
  SKIP_WITHOUT_TMPFS(mountpoint, why);
  const std::string dir = mountpoint + "/ns";
  TestDaemon daemon(dir);
  daemon.Start();
  MakeObjects();
  // Fill the file system to the last block (by a file of root's: tmpfs
  // keeps no blocks in reserve for root).
  const std::string filler = mountpoint + "/filler";
  {
    const int fd = open(filler.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    std::vector<char> block(4096, 'x');
    while (write(fd, block.data(), block.size()) > 0) {
    }
    EXPECT_EQ(errno, ENOSPC);
    close(fd);
  }
  // Everything a client can ask now fails cleanly (ENOMEM, as the kernel
  // says when it cannot allocate) or works, and the daemon survives it: new
  // processes (each registers, which needs a ledger file), new segments and
  // sets (entries in the tables, region files).
  std::string errors;
  for (int i = 0; i < 40; ++i) {
    const Outcome attempt = Capture([i] {
      const int shm = sysv_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
      const int shm_errno = errno;
      const int sem = sysv_semget(IPC_PRIVATE, 4, IPC_CREAT | 0600);
      const int sem_errno = errno;
      std::fprintf(stderr, "[%d shmget %s semget %s]\n", i, shm >= 0 ? "ok" : strerrorname_np(shm_errno),
                   sem >= 0 ? "ok" : strerrorname_np(sem_errno));
      return 0;
    });
    EXPECT_EQ(attempt.status, 0) << attempt.output;
    EXPECT_FALSE(absl::StrContains(attempt.output, "EMFILE") || absl::StrContains(attempt.output, "EIO") ||
                 absl::StrContains(attempt.output, "ECONNRESET"))
        << attempt.output;
    if (i < 3) errors += attempt.output;
    int status = 0;
    ASSERT_EQ(waitpid(daemon.pid(), &status, WNOHANG), 0)
        << "sysvipcd died on a full file system (status " << status << ") after: " << attempt.output;
  }
  std::printf("on a full file system: %s\n", errors.c_str());
  // A client registered before the file system filled up still reads the
  // objects (a new process cannot register: its ledger needs room).
  const int shm = sysv_shmget(kShmKey, 0, 0);
  ASSERT_GE(shm, 0) << std::strerror(errno);
  char* p = static_cast<char*>(sysv_shmat(shm, nullptr, SHM_RDONLY));
  ASSERT_NE(p, reinterpret_cast<char*>(-1)) << std::strerror(errno);
  EXPECT_STREQ(p + 6000, kPayload);
  EXPECT_EQ(sysv_shmdt(p), 0);
  EXPECT_EQ(sysv_semctl(sysv_semget(kSemKey, 0, 0), 1, GETVAL), 42);
  // Room again: everything works, nothing was lost.
  ASSERT_EQ(unlink(filler.c_str()), 0);
  const Outcome after = Capture([] {
    const int shm = sysv_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    if (shm < 0) return 1;
    void* p = sysv_shmat(shm, nullptr, 0);
    if (p == reinterpret_cast<void*>(-1)) return 2;
    static_cast<char*>(p)[0] = 1;
    return sysv_shmdt(p) == 0 && sysv_shmctl(shm, IPC_RMID, nullptr) == 0 ? 0 : 3;
  });
  EXPECT_EQ(after.status, 0) << after.output;
  ExpectObjectsIntact();
  RemoveObjects();
  daemon.Stop();
  umount2(mountpoint.c_str(), MNT_DETACH);
}

}  // namespace
}  // namespace sysv
