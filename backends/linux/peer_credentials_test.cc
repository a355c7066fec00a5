#include "backends/linux/peer_credentials.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "backends/common/unique_fd.h"
#include "backends/linux/channel.h"
#include "core/ipc/credentials.h"
#include "core/ipc/errno_status.h"
#include "gtest/gtest.h"

namespace sysv::linux_backend {
namespace {

using ::sysv::backend::UniqueFd;
using ::sysv::core::Credentials;
using ::sysv::core::ErrnoOf;

std::vector<uint32_t> Sorted(std::vector<uint32_t> groups) {
  std::sort(groups.begin(), groups.end());
  return groups;
}

std::vector<uint32_t> GetGroups() {
  std::vector<gid_t> groups(getgroups(0, nullptr));
  groups.resize(getgroups(static_cast<int>(groups.size()), groups.data()));
  return Sorted(std::vector<uint32_t>(groups.begin(), groups.end()));
}

// A path for a socket under $TEST_TMPDIR that fits in sun_path (see
// channel_test.cc for the /proc/self/fd detour).
class SocketDir {
 public:
  SocketDir() {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string templ = absl::StrCat(base != nullptr ? base : "/tmp", "/credXXXXXX");
    EXPECT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    dir_fd_ = UniqueFd(open(dir_.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  }
  std::string Path(const std::string& name) const {
    std::string full = absl::StrCat(dir_, "/", name);
    if (full.size() < sizeof(sockaddr_un{}.sun_path)) return full;
    return absl::StrCat("/proc/self/fd/", dir_fd_.get(), "/", name);
  }

 private:
  std::string dir_;
  UniqueFd dir_fd_;
};

TEST(PeerCredentialsTest, CurrentCredentialsMatchTheProcess) {
  absl::StatusOr<Credentials> creds = CurrentCredentials();
  ASSERT_TRUE(creds.ok()) << creds.status();
  EXPECT_EQ(creds->pid, getpid());
  EXPECT_EQ(creds->uid, geteuid());
  EXPECT_EQ(creds->gid, getegid());
  EXPECT_EQ(Sorted(creds->groups), GetGroups());
  EXPECT_EQ(creds->cap_sys_admin, geteuid() == 0);
}

TEST(PeerCredentialsTest, BothEndsOfARealConnectionSeeThisProcess) {
  SocketDir dir;
  const std::string path = dir.Path("sock");
  absl::StatusOr<UniqueFd> listener = ListenSeqpacket(path, 0600);
  ASSERT_TRUE(listener.ok()) << listener.status();
  absl::StatusOr<UniqueFd> client = ConnectSeqpacket(path);
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<UniqueFd> server = AcceptClient(listener->get());
  ASSERT_TRUE(server.ok()) << server.status();

  for (int fd : {server->get(), client->get()}) {
    absl::StatusOr<Credentials> creds = PeerCredentials(fd);
    ASSERT_TRUE(creds.ok()) << creds.status();
    EXPECT_EQ(creds->pid, getpid());
    EXPECT_EQ(creds->uid, geteuid());
    EXPECT_EQ(creds->gid, getegid());
    EXPECT_EQ(Sorted(creds->groups), GetGroups());
  }
}

TEST(PeerCredentialsTest, UnconnectedSocketHasNoCredentials) {
  UniqueFd fd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(fd.valid());
  absl::StatusOr<Credentials> creds = PeerCredentials(fd.get());
  ASSERT_FALSE(creds.ok());
  EXPECT_EQ(ErrnoOf(creds.status()), ENODATA) << creds.status();
  EXPECT_EQ(ErrnoOf(PeerCredentials(-1).status()), EBADF);
}

// A child changes its effective ids and takes more supplementary groups than
// the first SO_PEERGROUPS buffer holds (exercising the ERANGE retry), then
// connects; the daemon side must see exactly those. The listener uses the
// abstract namespace, which has no file permissions for the unprivileged
// child to trip over.
TEST(PeerCredentialsTest, SeesAnotherProcessesEffectiveIdsAndGroups) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "needs CAP_SETUID and CAP_SETGID (euid 0) to give a child "
                    "other credentials; euid is "
                 << geteuid();
  }
  constexpr uid_t kUid = 8765;
  constexpr gid_t kGid = 4321;
  std::vector<gid_t> groups;
  for (gid_t g = 1000; g < 1100; ++g) groups.push_back(g);

  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  const std::string name = absl::StrCat("sysv-peercred-test-", getpid());
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  const socklen_t length =
      static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + 1 + name.size());
  UniqueFd listener(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(listener.valid());
  ASSERT_EQ(bind(listener.get(), reinterpret_cast<struct sockaddr*>(&addr), length), 0)
      << std::strerror(errno);
  ASSERT_EQ(listen(listener.get(), 1), 0);

  // The child reports, before connecting, which step failed and its errno
  // (or "ok"), so that the parent neither blocks in accept() for a child
  // that never connects nor mistakes a missing capability for a bug.
  int report[2];
  ASSERT_EQ(pipe2(report, O_CLOEXEC), 0);
  UniqueFd report_read(report[0]);
  UniqueFd report_write(report[1]);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    report_read.reset();
    auto fail = [&](const char* step) {
      const std::string text = absl::StrCat(step, " ", errno);
      (void)!write(report_write.get(), text.data(), text.size());
      _exit(1);
    };
    if (setgroups(groups.size(), groups.data()) != 0) fail("setgroups");
    if (setegid(kGid) != 0) fail("setegid");
    if (seteuid(kUid) != 0) fail("seteuid");
    UniqueFd fd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (connect(fd.get(), reinterpret_cast<struct sockaddr*>(&addr), length) != 0) {
      fail("connect");
    }
    (void)!write(report_write.get(), "ok", 2);
    report_write.reset();
    char byte;
    (void)!read(fd.get(), &byte, 1);  // until the parent closes its end
    _exit(0);
  }
  report_write.reset();
  char text[64] = {};
  const ssize_t got = read(report_read.get(), text, sizeof(text) - 1);
  if (got <= 0 || std::string(text) != "ok") {
    int status = 0;
    waitpid(child, &status, 0);
    int step_errno = 0;
    char step[32] = {};
    if (std::sscanf(text, "%31s %d", step, &step_errno) == 2 &&
        std::string(step) != "connect" &&
        (step_errno == EPERM || step_errno == EINVAL)) {
      // EPERM: no CAP_SETUID/CAP_SETGID; EINVAL: the id is not mapped in this
      // user namespace (Bazel's linux-sandbox maps only our own ids).
      GTEST_SKIP() << "cannot give a child other credentials here: " << step
                   << " failed with " << std::strerror(step_errno) << " (errno "
                   << step_errno << ")";
    }
    FAIL() << "child: \"" << text << "\", exit status " << status;
  }
  absl::StatusOr<UniqueFd> server = AcceptClient(listener.get());
  // AcceptClient is non-blocking; the blocking listener makes accept4 wait.
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<Credentials> creds = PeerCredentials(server->get());
  server->reset();
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  ASSERT_TRUE(creds.ok()) << creds.status();
  EXPECT_EQ(creds->pid, child);
  EXPECT_EQ(creds->uid, kUid);
  EXPECT_EQ(creds->gid, kGid);
  EXPECT_EQ(Sorted(creds->groups),
            Sorted(std::vector<uint32_t>(groups.begin(), groups.end())));
  EXPECT_FALSE(creds->cap_ipc_owner);
}

}  // namespace
}  // namespace sysv::linux_backend
