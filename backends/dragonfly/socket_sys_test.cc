// socket_sys.h's contract, against the Linux double (and, as
// socket_sys_dragonfly_test, against DragonFly's own calls): control data in
// DragonFly's layout goes out and comes back as DragonFly's kernel would
// deliver it. Over connect(2)ed sockets, since DragonFly records no peer of
// a socketpair(2) end.
#include "backends/dragonfly/socket_sys.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/types/span.h"
#include "backends/common/unique_fd.h"
#include "backends/dragonfly/control_message.h"
#include "backends/dragonfly/dragonfly_abi.h"
#include "gtest/gtest.h"

namespace sysv::dragonfly_backend {
namespace {

using ::sysv::backend::UniqueFd;

// A connected SOCK_SEQPACKET pair: [0] the client, [1] the accepted end.
struct Connection {
  UniqueFd client;
  UniqueFd server;
};

Connection Connect() {
  char dir[] = "/tmp/socket_sys_test.XXXXXX";
  EXPECT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/s";
  struct sockaddr_un address;
  std::memset(&address, 0, sizeof(address));
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  const socklen_t length = static_cast<socklen_t>(SUN_LEN(&address) + 1);
  SetSunLen(&address, length);
  UniqueFd listener(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  EXPECT_EQ(bind(listener.get(), reinterpret_cast<struct sockaddr*>(&address), length), 0);
  EXPECT_EQ(listen(listener.get(), 1), 0);
  Connection connection;
  connection.client = UniqueFd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  EXPECT_EQ(connect(connection.client.get(), reinterpret_cast<struct sockaddr*>(&address), length), 0);
  connection.server = UniqueFd(accept(listener.get(), nullptr, nullptr));
  EXPECT_TRUE(connection.server);
  unlink(path.c_str());
  rmdir(dir);
  return connection;
}

struct Received {
  ssize_t size = -1;
  int flags = 0;
  absl::StatusOr<ParsedControl> control;
};

Received Receive(int fd, size_t control_room) {
  alignas(8) uint8_t control[kMaxControlSize];
  uint8_t buffer[16];
  size_t control_size = control_room;
  Received received;
  received.size = ReceiveWithControl(fd, buffer, sizeof(buffer), control, &control_size, &received.flags, 0);
  received.control = ParseControl(absl::MakeConstSpan(control, control_size));
  return received;
}

TEST(SocketSysTest, CredsRequestArrivesAsTheSendersCredentials) {
  Connection connection = Connect();
  alignas(8) uint8_t control[kCredsControlSize];
  ASSERT_EQ(BuildCredsRequest(absl::MakeSpan(control)), kCredsControlSize);
  const uint8_t byte = 1;
  ASSERT_EQ(SendWithControl(connection.client.get(), &byte, 1, control, sizeof(control), 0), 1);
  Received received = Receive(connection.server.get(), kMaxControlSize);
  ASSERT_EQ(received.size, 1);
  ASSERT_TRUE(received.control.ok()) << received.control.status();
  ASSERT_TRUE(received.control->sender.has_value());
  EXPECT_EQ(received.control->sender->pid, getpid());
  EXPECT_EQ(received.control->sender->uid, getuid());
  EXPECT_EQ(received.control->sender->euid, geteuid());
  EXPECT_EQ(received.control->sender->gid, getgid());
  EXPECT_EQ(received.control->sender->egid, getegid());
}

TEST(SocketSysTest, PlainMessageCarriesNoCredentials) {
  Connection connection = Connect();
  const uint8_t byte = 1;
  ASSERT_EQ(SendWithControl(connection.client.get(), &byte, 1, nullptr, 0, 0), 1);
  Received received = Receive(connection.server.get(), kMaxControlSize);
  ASSERT_EQ(received.size, 1);
  ASSERT_TRUE(received.control.ok()) << received.control.status();
  EXPECT_FALSE(received.control->sender.has_value());
  EXPECT_TRUE(received.control->fds.empty());
}

TEST(SocketSysTest, RightsPassDescriptors) {
  Connection connection = Connect();
  UniqueFd file(open("/dev/null", O_RDONLY | O_CLOEXEC));
  const int fds[] = {file.get(), file.get()};
  alignas(8) uint8_t control[RightsControlSize(2)];
  ASSERT_NE(BuildRights(absl::MakeSpan(control), fds), 0u);
  const uint8_t byte = 1;
  ASSERT_EQ(SendWithControl(connection.server.get(), &byte, 1, control, sizeof(control), 0), 1);
  Received received = Receive(connection.client.get(), kMaxControlSize);
  ASSERT_TRUE(received.control.ok()) << received.control.status();
  ASSERT_EQ(received.control->fds.size(), 2u);
  struct stat a, b;
  ASSERT_EQ(fstat(received.control->fds[0].get(), &a), 0);
  ASSERT_EQ(fstat(file.get(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(received.flags & MSG_CTRUNC, 0);
}

TEST(SocketSysTest, RightsBeyondTheControlBufferAreCutAndFlagged) {
  Connection connection = Connect();
  UniqueFd file(open("/dev/null", O_RDONLY | O_CLOEXEC));
  const int fds[] = {file.get(), file.get(), file.get()};
  alignas(8) uint8_t control[RightsControlSize(3)];
  ASSERT_NE(BuildRights(absl::MakeSpan(control), fds), 0u);
  const uint8_t byte = 1;
  ASSERT_EQ(SendWithControl(connection.server.get(), &byte, 1, control, sizeof(control), 0), 1);
  // Room for one descriptor exactly: CMSG_LEN, not CMSG_SPACE, which has
  // padding a second one fits in.
  Received received = Receive(connection.client.get(), abi::CmsgLen(sizeof(int32_t)));
  ASSERT_TRUE(received.control.ok()) << received.control.status();
  EXPECT_EQ(received.control->fds.size(), 1u);
  EXPECT_NE(received.flags & MSG_CTRUNC, 0);
}

}  // namespace
}  // namespace sysv::dragonfly_backend
