// Issue 12, part 1: taking over someone else's namespace. User B prepares a
// namespace directory that user A's programs will use (A's per-user default,
// /dev/shm/sysvipc-<A's uid>, which B can create first in the world-writable
// /dev/shm; or a shared sticky directory like /tmp), plants his own daemon,
// a listener of his own or symlinks to A's files there, and A then runs a
// program on libsysv. A's client and A's daemon must refuse the directory or
// the listener, with a message naming what is wrong, and nothing of A's may
// land in B's hands or be written through B's symlinks.
//
// Users: A = 2101, B = 2102 (this suite's range). The clients are this test
// binary's own forked children (libsysv linked in); the daemons are a copy of
// sysvipcd in a directory every user can read.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/reliability/as_user.h"
#include "tests/security/other_user_programs.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

using testing::Captured;
using testing::CopyProgram;
using testing::FileContents;
using testing::Identity;
using testing::LockFilePid;
using testing::MakeRootDir;
using testing::RunAs;
using testing::RunAsCaptured;
using testing::StopDetachedDaemon;
using testing::User;

constexpr uid_t kUidA = 2101;
constexpr uid_t kUidB = 2102;

const Identity& UserA() {
  static const Identity* a = new Identity(User("a", kUidA, kUidA));
  return *a;
}
const Identity& UserB() {
  static const Identity* b = new Identity(User("b", kUidB, kUidB));
  return *b;
}

// Where libsysv puts A's namespace when nothing is set (see
// backends/common/namespace_dir.h).
std::string DefaultDirOfA() {
  struct stat st;
  const char* base = (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode)) ? "/dev/shm" : "/tmp";
  return absl::StrCat(base, "/sysvipc-", kUidA);
}

std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    names.push_back(entry.path().filename());
  }
  return names;
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
}

class NamespaceTakeoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
    // A's default namespace is one path for the whole machine: copies of
    // this test running at once (--runs_per_test) take turns.
    serial_ = open("/tmp/sysv-sec-takeover.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    ASSERT_GE(serial_, 0);
    ASSERT_EQ(flock(serial_, LOCK_EX), 0);
    tools_ = MakeRootDir("takeover-tools", 0755);
    ASSERT_FALSE(tools_.empty());
    daemon_ = CopyProgram(testing::RunfilePath("daemon/sysvipcd"), tools_);
    ASSERT_FALSE(daemon_.empty());
    MakeVictimFiles();
    a_default_ = DefaultDirOfA();
    RemoveAll(a_default_);
    unsetenv("SYSVIPC_DIR");
    unsetenv("SYSVIPC_AUTOSTART");
  }

  void TearDown() override {
    for (const std::string& dir : daemon_dirs_) StopDetachedDaemon(LockFilePid(dir));
    for (const std::string& dir : {tools_, victim_, a_default_, shared_}) {
      if (!dir.empty()) RemoveAll(dir);
    }
    if (serial_ >= 0) close(serial_);  // and with it the lock
  }

  static void RemoveAll(const std::string& dir) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  // Starts the copied sysvipcd as `who` on `dir` (it detaches once it
  // serves); returns its start's exit status.
  int StartDaemonAs(const Identity& who, const std::string& dir) {
    daemon_dirs_.push_back(dir);
    return RunAs(who, [&] {
      const std::string flag = absl::StrCat("--dir=", dir);
      execl(daemon_.c_str(), daemon_.c_str(), flag.c_str(), static_cast<char*>(nullptr));
      return 127;
    });
  }

  // A, in a fresh process, creates a 0600 segment in the namespace that
  // libsysv picks for her. `dir` names it through SYSVIPC_DIR; empty means
  // none set (the per-user default). Autostart on, with the real daemon.
  // Exit status: 0 refused with ECONNREFUSED, 1 the segment was made, 2
  // another errno.
  Captured ClientOfA(const std::string& dir) {
    return RunAsCaptured(UserA(), [&] {
      unsetenv("XDG_RUNTIME_DIR");
      if (dir.empty()) unsetenv("SYSVIPC_DIR");
      else setenv("SYSVIPC_DIR", dir.c_str(), 1);
      setenv("SYSVIPCD", daemon_.c_str(), 1);
      const int id = sysv_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
      if (id >= 0) return 1;
      return errno == ECONNREFUSED ? 0 : 2;
    });
  }

  // A's own files, which B's symlinks point at (made afresh).
  void MakeVictimFiles() {
    if (!victim_.empty()) RemoveAll(victim_);
    victim_ = MakeRootDir("takeover-victim", 0755);
    ASSERT_FALSE(victim_.empty());
    ASSERT_EQ(chown(victim_.c_str(), kUidA, kUidA), 0);
    lock_target_ = victim_ + "/thesis.txt";
    log_target_ = victim_ + "/notes.txt";
    state_target_ = victim_ + "/photos";
    std::ofstream(lock_target_) << "A's thesis\n";
    std::ofstream(log_target_) << "A's notes\n";
    ASSERT_EQ(mkdir(state_target_.c_str(), 0755), 0);
    for (const std::string& path : {lock_target_, log_target_, state_target_}) {
      ASSERT_EQ(chown(path.c_str(), kUidA, kUidA), 0);
    }
  }

  void ExpectVictimFilesUntouched() {
    EXPECT_EQ(FileContents(lock_target_), "A's thesis\n");
    EXPECT_EQ(FileContents(log_target_), "A's notes\n");
    EXPECT_EQ(ModeOf(state_target_), 0755u);
    EXPECT_TRUE(Names(state_target_).empty());
  }

  // In `dir`, B's symlinks to A's files under the namespace's names.
  void PlantSymlinksAsB(const std::string& dir, const std::vector<std::string>& which) {
    ASSERT_EQ(RunAs(UserB(), [&] {
                for (const std::string& name : which) {
                  const std::string& target = name == "sysvipcd.lock"  ? lock_target_
                                              : name == "sysvipcd.log" ? log_target_
                                                                       : state_target_;
                  if (symlink(target.c_str(), (dir + "/" + name).c_str()) != 0) return 1;
                }
                return 0;
              }),
              0);
  }

  int serial_ = -1;
  std::string tools_;
  std::string daemon_;
  std::string victim_;
  std::string lock_target_;
  std::string log_target_;
  std::string state_target_;
  std::string a_default_;
  std::string shared_;
  std::vector<std::string> daemon_dirs_;
};

// B makes A's default namespace directory first and serves it with his own
// daemon: A's segment would be a file of B's daemon, which B reads.
TEST_F(NamespaceTakeoverTest, ClientRefusesDefaultDirectoryOfAnotherUser) {
  ASSERT_EQ(RunAs(UserB(), [&] { return mkdir(a_default_.c_str(), 0755) == 0 ? 0 : 1; }), 0);
  ASSERT_EQ(StartDaemonAs(UserB(), a_default_), 0) << "B's daemon did not start";

  const Captured a = ClientOfA("");
  EXPECT_EQ(a.status, 0) << "A's shmget in B's namespace: " << a.output;
  EXPECT_NE(a.output.find(a_default_), std::string::npos) << a.output;
  EXPECT_NE(a.output.find(absl::StrCat("owned by uid ", kUidB)), std::string::npos) << a.output;
  EXPECT_TRUE(Names(a_default_ + "/state/shm").empty()) << "A's segment landed in B's daemon";
}

// The same directory without a daemon: A's client must not start one there
// (its log and state would be in B's directory).
TEST_F(NamespaceTakeoverTest, AutostartRefusesDefaultDirectoryOfAnotherUser) {
  ASSERT_EQ(RunAs(UserB(), [&] { return mkdir(a_default_.c_str(), 0777) == 0 && chmod(a_default_.c_str(), 0777) == 0 ? 0 : 1; }), 0);
  PlantSymlinksAsB(a_default_, {"sysvipcd.lock", "sysvipcd.log", "state"});
  daemon_dirs_.push_back(a_default_);

  const Captured a = ClientOfA("");
  EXPECT_EQ(a.status, 0) << a.output;
  EXPECT_NE(a.output.find(absl::StrCat("owned by uid ", kUidB)), std::string::npos) << a.output;
  ExpectVictimFilesUntouched();
  std::vector<std::string> names = Names(a_default_);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"state", "sysvipcd.lock", "sysvipcd.log"}));
}

// A's own daemon, told to serve B's directory, refuses it.
TEST_F(NamespaceTakeoverTest, DaemonRefusesDirectoryOfAnotherUser) {
  ASSERT_EQ(RunAs(UserB(), [&] { return mkdir(a_default_.c_str(), 0777) == 0 && chmod(a_default_.c_str(), 0777) == 0 ? 0 : 1; }), 0);
  PlantSymlinksAsB(a_default_, {"sysvipcd.lock", "sysvipcd.log", "state"});
  EXPECT_NE(StartDaemonAs(UserA(), a_default_), 0);
  ExpectVictimFilesUntouched();
}

// A shared directory that is fine to use (root's, sticky like /tmp), where
// B may create names but not replace A's: each of B's symlinks is refused,
// never followed, whether A's client or A's daemon meets it.
TEST_F(NamespaceTakeoverTest, SymlinksInStickyDirectoryAreNeverFollowed) {
  for (const std::string name : {"sysvipcd.lock", "sysvipcd.log", "state"}) {
    SCOPED_TRACE(name);
    MakeVictimFiles();
    shared_ = MakeRootDir("takeover-sticky", 01777);
    ASSERT_FALSE(shared_.empty());
    PlantSymlinksAsB(shared_, {name});
    daemon_dirs_.push_back(shared_);

    const Captured a = ClientOfA(shared_);
    EXPECT_EQ(a.status, 0) << a.output;
    ExpectVictimFilesUntouched();
    StopDetachedDaemon(LockFilePid(shared_));
    // Started by hand the daemon does not write the log (its stderr is
    // whatever it was given): only the lock and state are its to refuse.
    const int started = StartDaemonAs(UserA(), shared_);
    if (name != "sysvipcd.log") {
      EXPECT_NE(started, 0);
    }
    ExpectVictimFilesUntouched();
    StopDetachedDaemon(LockFilePid(shared_));
    RemoveAll(shared_);
    shared_.clear();
  }
}

// B makes the names first as real files of his own (a lock he can read and
// write, a state directory he can enter): A's daemon refuses them.
TEST_F(NamespaceTakeoverTest, EntriesOfAnotherUserInStickyDirectoryAreRefused) {
  for (const std::string name : {"sysvipcd.lock", "state"}) {
    SCOPED_TRACE(name);
    shared_ = MakeRootDir("takeover-owned", 01777);
    ASSERT_FALSE(shared_.empty());
    const std::string path = shared_ + "/" + name;
    ASSERT_EQ(RunAs(UserB(), [&] {
                if (name == "state") return mkdir(path.c_str(), 0777) == 0 && chmod(path.c_str(), 0777) == 0 ? 0 : 1;
                std::ofstream(path) << "B's\n";
                return chmod(path.c_str(), 0666) == 0 ? 0 : 1;
              }),
              0);
    daemon_dirs_.push_back(shared_);
    const Captured a = RunAsCaptured(UserA(), [&] {
      execl(daemon_.c_str(), daemon_.c_str(), ("--dir=" + shared_).c_str(), static_cast<char*>(nullptr));
      return 127;
    });
    EXPECT_NE(a.status, 0) << a.output;
    EXPECT_NE(a.output.find(absl::StrCat("of uid ", kUidB)), std::string::npos) << a.output;
    if (name == "state") {
      EXPECT_TRUE(Names(path).empty()) << "A's daemon wrote into B's state directory";
    } else {
      EXPECT_EQ(FileContents(path), "B's\n");
    }
    RemoveAll(shared_);
    shared_.clear();
  }
}

// B answers on the socket of a namespace A may use (a sticky root directory
// lets him bind the name): A's client must hang up before it sends anything.
TEST_F(NamespaceTakeoverTest, ClientRefusesListenerOfAnotherUserBeforeSending) {
  shared_ = MakeRootDir("takeover-listener", 01777);
  ASSERT_FALSE(shared_.empty());
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const std::string socket_path = shared_ + "/sysvipcd.sock";
  // B's listener: exit status 0 if the one connection sent nothing before
  // closing, 1 if bytes arrived, 2 if nobody connected, 3 on setup failure.
  int listener_status = -1;
  std::thread listener([&] {
    listener_status = RunAs(UserB(), [&] {
      const int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::strncpy(addr.sun_path, socket_path.c_str(), sizeof(addr.sun_path) - 1);
      if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
          chmod(socket_path.c_str(), 0666) != 0 || listen(fd, 4) != 0) {
        return 3;
      }
      (void)!write(ready[1], "r", 1);
      pollfd pfd{fd, POLLIN, 0};
      if (poll(&pfd, 1, 10000) != 1) return 2;
      const int client = accept(fd, nullptr, nullptr);
      if (client < 0) return 3;
      pfd = {client, POLLIN, 0};
      if (poll(&pfd, 1, 5000) != 1) return 1;  // still open: not refused
      char buffer[4096];
      return read(client, buffer, sizeof(buffer)) > 0 ? 1 : 0;
    });
  });
  char byte;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  close(ready[0]);
  close(ready[1]);

  const Captured a = RunAsCaptured(UserA(), [&] {
    setenv("SYSVIPC_DIR", shared_.c_str(), 1);
    setenv("SYSVIPC_AUTOSTART", "0", 1);
    const int id = sysv_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    if (id >= 0) return 1;
    return errno == ECONNREFUSED ? 0 : 2;
  });
  listener.join();
  EXPECT_EQ(a.status, 0) << a.output;
  EXPECT_NE(a.output.find(absl::StrCat("uid ", kUidB)), std::string::npos) << a.output;
  EXPECT_EQ(listener_status, 0) << "A's client sent a request to B's listener";
}

// The legitimate per-user case: A's first program makes her default
// namespace private (0700, socket 0600) and starts her daemon there.
TEST_F(NamespaceTakeoverTest, AutostartMakesPrivateDefaultNamespace) {
  daemon_dirs_.push_back(a_default_);
  const Captured a = ClientOfA("");
  EXPECT_EQ(a.status, 1) << a.output;
  struct stat st;
  ASSERT_EQ(stat(a_default_.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, kUidA);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(ModeOf(a_default_ + "/sysvipcd.sock"), 0600u);
}

// The legitimate case the checks must keep: a shared namespace in a
// root-owned 0755 directory served by root, used by A and B.
TEST_F(NamespaceTakeoverTest, RootDaemonInRootDirectoryServesEveryone) {
  shared_ = MakeRootDir("takeover-root", 0755);
  ASSERT_FALSE(shared_.empty());
  testing::TestDaemon daemon(shared_);
  daemon.Start();
  for (const Identity& who : {UserA(), UserB()}) {
    const Captured c = RunAsCaptured(who, [&] {
      setenv("SYSVIPC_DIR", shared_.c_str(), 1);
      return sysv_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600) >= 0 ? 0 : 1;
    });
    EXPECT_EQ(c.status, 0) << who.name << ": " << c.output;
  }
  EXPECT_EQ(ModeOf(shared_ + "/sysvipcd.sock"), 0666u);
}

}  // namespace
}  // namespace sysv
