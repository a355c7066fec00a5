#include "backends/linux/channel.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "backends/common/unique_fd.h"
#include "core/ipc/errno_status.h"
#include "gtest/gtest.h"

namespace sysv::linux_backend {
namespace {

using ::sysv::backend::UniqueFd;
using ::sysv::core::ErrnoOf;

std::vector<uint8_t> Bytes(const std::string& text) {
  return std::vector<uint8_t>(text.begin(), text.end());
}

int CountOpenFds() {
  int count = 0;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  while (readdir(dir) != nullptr) ++count;
  closedir(dir);
  return count;
}

struct SocketPair {
  UniqueFd a;
  UniqueFd b;
  static SocketPair Make(int extra_flags = 0) {
    int fds[2] = {-1, -1};
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | extra_flags,
                         0, fds),
              0);
    return SocketPair{UniqueFd(fds[0]), UniqueFd(fds[1])};
  }
};

// A fresh directory under $TEST_TMPDIR and a socket path in it. Bazel's
// TEST_TMPDIR is often longer than sun_path allows (107 bytes); then the
// path goes through /proc/self/fd/<dir fd>/, which the kernel resolves like
// any directory.
class SocketDir {
 public:
  SocketDir() {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string templ = absl::StrCat(base != nullptr ? base : "/tmp", "/chanXXXXXX");
    EXPECT_NE(mkdtemp(templ.data()), nullptr) << std::strerror(errno);
    dir_ = templ;
    dir_fd_ = UniqueFd(open(dir_.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    EXPECT_TRUE(dir_fd_.valid());
  }

  // A path for `name` that fits in sun_path.
  std::string Path(const std::string& name) const {
    std::string full = absl::StrCat(dir_, "/", name);
    if (full.size() < sizeof(sockaddr_un{}.sun_path)) return full;
    return absl::StrCat("/proc/self/fd/", dir_fd_.get(), "/", name);
  }
  // The real path (possibly too long for a socket address).
  std::string LongPath(const std::string& name) const {
    return absl::StrCat(dir_, "/", name);
  }

 private:
  std::string dir_;
  UniqueFd dir_fd_;
};

TEST(ChannelTest, SendsBytesAndFds) {
  SocketPair pair = SocketPair::Make();
  int pipe_fds[2];
  ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
  UniqueFd pipe_read(pipe_fds[0]);
  UniqueFd pipe_write(pipe_fds[1]);
  const std::vector<uint8_t> sent = Bytes("hello, daemon");
  const int fds[] = {pipe_read.get(), pipe_write.get()};
  ASSERT_TRUE(SendMessage(pair.a.get(), sent, fds).ok());

  std::vector<uint8_t> buffer(64);
  absl::StatusOr<ReceivedMessage> message =
      ReceiveMessage(pair.b.get(), absl::MakeSpan(buffer), 4);
  ASSERT_TRUE(message.ok()) << message.status();
  ASSERT_EQ(message->size, sent.size());
  EXPECT_EQ(std::vector<uint8_t>(buffer.begin(), buffer.begin() + message->size),
            sent);
  ASSERT_EQ(message->fds.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const int fd = message->fds[i].get();
    EXPECT_NE(fd, fds[i]);
    EXPECT_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC) << "fd " << i;
    struct stat ours, theirs;
    ASSERT_EQ(fstat(fds[i], &ours), 0);
    ASSERT_EQ(fstat(fd, &theirs), 0);
    EXPECT_EQ(ours.st_ino, theirs.st_ino);
  }
  // The received pipe works: write through the received write end.
  ASSERT_EQ(write(message->fds[1].get(), "x", 1), 1);
  char byte = 0;
  ASSERT_EQ(read(pipe_read.get(), &byte, 1), 1);
  EXPECT_EQ(byte, 'x');
}

TEST(ChannelTest, SendsBytesWithoutFds) {
  SocketPair pair = SocketPair::Make();
  ASSERT_TRUE(SendMessage(pair.a.get(), Bytes("abc"), {}).ok());
  std::vector<uint8_t> buffer(3);  // exactly fits: not truncation
  absl::StatusOr<ReceivedMessage> message =
      ReceiveMessage(pair.b.get(), absl::MakeSpan(buffer), 0);
  ASSERT_TRUE(message.ok()) << message.status();
  EXPECT_EQ(message->size, 3u);
  EXPECT_TRUE(message->fds.empty());
}

TEST(ChannelTest, TruncatedDataIsEmsgsize) {
  SocketPair pair = SocketPair::Make();
  ASSERT_TRUE(SendMessage(pair.a.get(), Bytes(std::string(100, 'z')), {}).ok());
  ASSERT_TRUE(SendMessage(pair.a.get(), Bytes("next"), {}).ok());
  std::vector<uint8_t> buffer(10);
  absl::StatusOr<ReceivedMessage> message =
      ReceiveMessage(pair.b.get(), absl::MakeSpan(buffer), 0);
  ASSERT_FALSE(message.ok());
  EXPECT_EQ(ErrnoOf(message.status()), EMSGSIZE) << message.status();
  // The rest of the truncated message is gone; the next one is intact.
  message = ReceiveMessage(pair.b.get(), absl::MakeSpan(buffer), 0);
  ASSERT_TRUE(message.ok()) << message.status();
  EXPECT_EQ(message->size, 4u);
}

TEST(ChannelTest, TooManyFdsIsEmsgsizeAndLeaksNone) {
  SocketPair pair = SocketPair::Make();
  const int fds[] = {0, 1, 2};
  const int before = CountOpenFds();
  ASSERT_TRUE(SendMessage(pair.a.get(), Bytes("three fds"), fds).ok());
  std::vector<uint8_t> buffer(64);
  absl::StatusOr<ReceivedMessage> message =
      ReceiveMessage(pair.b.get(), absl::MakeSpan(buffer), 1);
  ASSERT_FALSE(message.ok());
  EXPECT_EQ(ErrnoOf(message.status()), EMSGSIZE) << message.status();
  EXPECT_EQ(CountOpenFds(), before) << "a received fd was not closed";

  // With room for none, any descriptor is too many.
  ASSERT_TRUE(SendMessage(pair.a.get(), Bytes("one fd"), absl::MakeSpan(fds, 1)).ok());
  message = ReceiveMessage(pair.b.get(), absl::MakeSpan(buffer), 0);
  ASSERT_FALSE(message.ok());
  EXPECT_EQ(ErrnoOf(message.status()), EMSGSIZE) << message.status();
  EXPECT_EQ(CountOpenFds(), before);
}

TEST(ChannelTest, ExactlyMaxFdsFits) {
  SocketPair pair = SocketPair::Make();
  const int fds[] = {0, 1, 2};
  ASSERT_TRUE(SendMessage(pair.a.get(), Bytes("three fds"), fds).ok());
  std::vector<uint8_t> buffer(64);
  absl::StatusOr<ReceivedMessage> message =
      ReceiveMessage(pair.b.get(), absl::MakeSpan(buffer), 3);
  ASSERT_TRUE(message.ok()) << message.status();
  EXPECT_EQ(message->fds.size(), 3u);
}

TEST(ChannelTest, EofIsSizeZero) {
  SocketPair pair = SocketPair::Make();
  pair.a.reset();
  std::vector<uint8_t> buffer(16);
  absl::StatusOr<ReceivedMessage> message =
      ReceiveMessage(pair.b.get(), absl::MakeSpan(buffer), 4);
  ASSERT_TRUE(message.ok()) << message.status();
  EXPECT_EQ(message->size, 0u);
  EXPECT_TRUE(message->fds.empty());
}

TEST(ChannelTest, NothingToReadIsEagain) {
  SocketPair pair = SocketPair::Make(SOCK_NONBLOCK);
  std::vector<uint8_t> buffer(16);
  absl::StatusOr<ReceivedMessage> message =
      ReceiveMessage(pair.b.get(), absl::MakeSpan(buffer), 4);
  ASSERT_FALSE(message.ok());
  EXPECT_EQ(ErrnoOf(message.status()), EAGAIN) << message.status();
}

// The /proc state letter of thread `tid` of this process.
char ThreadState(pid_t tid) {
  const std::string path = absl::StrCat("/proc/self/task/", tid, "/stat");
  FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) return 0;
  char buf[512] = {};
  const size_t n = std::fread(buf, 1, sizeof(buf) - 1, file);
  std::fclose(file);
  const char* close = std::strrchr(buf, ')');
  return n == 0 || close == nullptr || close[1] == 0 ? 0 : close[2];
}

// A thread in ReceiveMessageAwake() on `fd` for `awake_for`; its result in
// `*result` when `done` is notified.
struct AwakeReceiver {
  AwakeReceiver(int fd, absl::Duration awake_for) {
    thread = std::thread([this, fd, awake_for] {
      tid.store(static_cast<pid_t>(syscall(SYS_gettid)));
      std::vector<uint8_t> buffer(16);
      absl::StatusOr<ReceivedMessage> received = ReceiveMessageAwake(fd, absl::MakeSpan(buffer), 4, awake_for);
      result = received.ok() ? std::string(buffer.begin(), buffer.begin() + received->size)
                             : absl::StrCat("errno ", ErrnoOf(received.status()));
      done.Notify();
    });
    while (tid.load() == 0) std::this_thread::yield();
  }
  ~AwakeReceiver() { thread.join(); }
  std::atomic<pid_t> tid{0};
  std::string result;
  absl::Notification done;
  std::thread thread;
};

TEST(ChannelTest, AwakeReceiveNeverSleepsWithinItsBound) {
  SocketPair pair = SocketPair::Make();
  AwakeReceiver receiver(pair.b.get(), absl::Seconds(30));
  // Runnable ('R') whenever looked at, never asleep ('S') on the socket.
  const absl::Time end = absl::Now() + absl::Milliseconds(200);
  int looks = 0;
  while (absl::Now() < end) {
    const char state = ThreadState(receiver.tid.load());
    ASSERT_NE(state, 'S') << "after " << looks << " looks";
    ++looks;
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_FALSE(receiver.done.HasBeenNotified());
  ASSERT_TRUE(SendMessage(pair.a.get(), Bytes("reply"), {}).ok());
  receiver.done.WaitForNotification();
  EXPECT_EQ(receiver.result, "reply");
}

TEST(ChannelTest, AwakeReceiveSleepsAfterItsBound) {
  SocketPair pair = SocketPair::Make();
  AwakeReceiver receiver(pair.b.get(), absl::Milliseconds(5));
  const absl::Time end = absl::Now() + absl::Seconds(10);
  while (ThreadState(receiver.tid.load()) != 'S' && absl::Now() < end) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_EQ(ThreadState(receiver.tid.load()), 'S');
  ASSERT_TRUE(SendMessage(pair.a.get(), Bytes("late"), {}).ok());
  receiver.done.WaitForNotification();
  EXPECT_EQ(receiver.result, "late");
}

TEST(ChannelTest, AwakeReceiveSeesEofAndErrors) {
  SocketPair pair = SocketPair::Make();
  AwakeReceiver receiver(pair.b.get(), absl::Seconds(30));
  pair.a.reset();
  receiver.done.WaitForNotification();
  EXPECT_EQ(receiver.result, "");  // size 0: EOF
  std::vector<uint8_t> buffer(16);
  absl::StatusOr<ReceivedMessage> bad = ReceiveMessageAwake(-1, absl::MakeSpan(buffer), 4, absl::Seconds(1));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(ErrnoOf(bad.status()), EBADF);
}

TEST(ChannelTest, SendErrors) {
  SocketPair pair = SocketPair::Make();
  absl::Status empty = SendMessage(pair.a.get(), {}, {});
  EXPECT_EQ(ErrnoOf(empty), EINVAL) << empty;
  std::vector<int> too_many(kMaxFdsPerMessage + 1, 0);
  absl::Status many = SendMessage(pair.a.get(), Bytes("x"), too_many);
  EXPECT_EQ(ErrnoOf(many), EINVAL) << many;
  const int bad_fd[] = {-1};
  absl::Status bad = SendMessage(pair.a.get(), Bytes("x"), bad_fd);
  EXPECT_EQ(ErrnoOf(bad), EBADF) << bad;
  // A dead peer is EPIPE, and no SIGPIPE kills the test.
  pair.b.reset();
  absl::Status dead = SendMessage(pair.a.get(), Bytes("x"), {});
  EXPECT_EQ(ErrnoOf(dead), EPIPE) << dead;
}

TEST(ChannelTest, ReceiveRejectsBadArguments) {
  SocketPair pair = SocketPair::Make();
  std::vector<uint8_t> buffer(4);
  EXPECT_EQ(ErrnoOf(ReceiveMessage(pair.b.get(), {}, 0).status()), EINVAL);
  EXPECT_EQ(ErrnoOf(ReceiveMessage(pair.b.get(), absl::MakeSpan(buffer), -1)
                        .status()),
            EINVAL);
}

TEST(ChannelTest, ListenAcceptConnectRoundTrip) {
  SocketDir dir;
  const std::string path = dir.Path("sock");
  const mode_t old_umask = umask(077);  // the mode must not depend on it
  absl::StatusOr<UniqueFd> listener = ListenSeqpacket(path, 0666);
  umask(old_umask);
  ASSERT_TRUE(listener.ok()) << listener.status();
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0666u);
  const int listener_flags = fcntl(listener->get(), F_GETFL);
  EXPECT_NE(listener_flags & O_NONBLOCK, 0);
  EXPECT_EQ(fcntl(listener->get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);

  absl::StatusOr<UniqueFd> none = AcceptClient(listener->get());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(ErrnoOf(none.status()), EAGAIN);

  absl::StatusOr<UniqueFd> client = ConnectSeqpacket(path);
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ(fcntl(client->get(), F_GETFL) & O_NONBLOCK, 0);  // blocking
  EXPECT_EQ(fcntl(client->get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  absl::StatusOr<UniqueFd> server = AcceptClient(listener->get());
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_NE(fcntl(server->get(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_EQ(fcntl(server->get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);

  ASSERT_TRUE(SendMessage(client->get(), Bytes("request"), {}).ok());
  std::vector<uint8_t> buffer(32);
  absl::StatusOr<ReceivedMessage> request =
      ReceiveMessage(server->get(), absl::MakeSpan(buffer), 0);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->size, 7u);
  const int reply_fds[] = {listener->get()};
  ASSERT_TRUE(SendMessage(server->get(), Bytes("reply"), reply_fds).ok());
  absl::StatusOr<ReceivedMessage> reply =
      ReceiveMessage(client->get(), absl::MakeSpan(buffer), 1);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->size, 5u);
  EXPECT_EQ(reply->fds.size(), 1u);
}

TEST(ChannelTest, ListenSetsRestrictiveModeToo) {
  SocketDir dir;
  const std::string path = dir.Path("private");
  absl::StatusOr<UniqueFd> listener = ListenSeqpacket(path, 0600);
  ASSERT_TRUE(listener.ok()) << listener.status();
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST(ChannelTest, ListenReplacesStaleSocket) {
  SocketDir dir;
  const std::string path = dir.Path("sock");
  {
    absl::StatusOr<UniqueFd> dead = ListenSeqpacket(path, 0600);
    ASSERT_TRUE(dead.ok()) << dead.status();
  }  // closed without unlinking: the file stays, nobody listens
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  absl::StatusOr<UniqueFd> refused = ConnectSeqpacket(path);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(ErrnoOf(refused.status()), ECONNREFUSED);

  absl::StatusOr<UniqueFd> listener = ListenSeqpacket(path, 0600);
  ASSERT_TRUE(listener.ok()) << listener.status();
  absl::StatusOr<UniqueFd> client = ConnectSeqpacket(path);
  EXPECT_TRUE(client.ok()) << client.status();
}

TEST(ChannelTest, ListenRefusesLiveSocket) {
  SocketDir dir;
  const std::string path = dir.Path("sock");
  absl::StatusOr<UniqueFd> first = ListenSeqpacket(path, 0600);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<UniqueFd> second = ListenSeqpacket(path, 0600);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(ErrnoOf(second.status()), EADDRINUSE) << second.status();
  // The first listener's socket file is untouched.
  absl::StatusOr<UniqueFd> client = ConnectSeqpacket(path);
  EXPECT_TRUE(client.ok()) << client.status();
}

TEST(ChannelTest, ListenRefusesToRemoveNonSocket) {
  SocketDir dir;
  const std::string path = dir.Path("file");
  UniqueFd file(open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
  ASSERT_TRUE(file.valid());
  absl::StatusOr<UniqueFd> listener = ListenSeqpacket(path, 0600);
  ASSERT_FALSE(listener.ok());
  EXPECT_EQ(ErrnoOf(listener.status()), EADDRINUSE) << listener.status();
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST(ChannelTest, LongDirectoryPathsWorkThroughTheDirectoryDescriptor) {
  SocketDir dir;
  // A directory path far longer than sun_path; the socket name itself is short.
  std::string deep = dir.LongPath("");
  for (int i = 0; i < 4; ++i) {
    deep = absl::StrCat(deep, std::string(40, 'd'), "/");
    ASSERT_EQ(mkdir(deep.c_str(), 0700), 0) << deep;
  }
  const std::string path = absl::StrCat(deep, "daemon.sock");
  ASSERT_GT(path.size(), sizeof(sockaddr_un{}.sun_path));
  absl::StatusOr<UniqueFd> listener = ListenSeqpacket(path, 0600);
  ASSERT_TRUE(listener.ok()) << listener.status();
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  absl::StatusOr<UniqueFd> client = ConnectSeqpacket(path);
  EXPECT_TRUE(client.ok()) << client.status();
}

TEST(ChannelTest, PathErrors) {
  SocketDir dir;
  const std::string long_path = absl::StrCat("/tmp/", std::string(120, 'x'));
  EXPECT_EQ(ErrnoOf(ListenSeqpacket(long_path, 0600).status()), ENAMETOOLONG);
  EXPECT_EQ(ErrnoOf(ConnectSeqpacket(long_path).status()), ENAMETOOLONG);
  EXPECT_EQ(ErrnoOf(ListenSeqpacket("", 0600).status()), EINVAL);
  EXPECT_EQ(ErrnoOf(ConnectSeqpacket(dir.Path("missing")).status()), ENOENT);
}

}  // namespace
}  // namespace sysv::linux_backend
