// The peer_cred_sys.h contract, as a test that runs against either
// implementation: on Linux against the SO_PEERCRED double
// (peer_cred_sys_test), on DragonFly against the real LOCAL_PEERCRED
// (peer_cred_sys_dragonfly_test, which can only run there). POSIX calls
// only; sockets are made by listen/connect, the one way DragonFly records
// peer credentials.
#include "backends/dragonfly/peer_cred_sys.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "backends/common/unique_fd.h"
#include "backends/dragonfly/dragonfly_abi.h"
#include "gtest/gtest.h"

namespace sysv::dragonfly_backend {
namespace {

using ::sysv::backend::UniqueFd;

template <typename T>
T Get(const uint8_t* bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes + offset, sizeof(value));
  return value;
}

// A listening SOCK_SEQPACKET socket in a fresh short directory under /tmp
// (sun_path is 104 bytes on DragonFly; TEST_TMPDIR may be longer), a client
// connected to it, and the accepted server end.
class Connection {
 public:
  Connection() {
    char dir[] = "/tmp/peercredXXXXXX";
    EXPECT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/s";
    struct sockaddr_un addr;
    std::memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    listener_.reset(socket(AF_UNIX, SOCK_SEQPACKET, 0));
    EXPECT_EQ(bind(listener_.get(), reinterpret_cast<struct sockaddr*>(&addr),
                   sizeof(addr)),
              0)
        << std::strerror(errno);
    EXPECT_EQ(listen(listener_.get(), 4), 0);
    client_.reset(socket(AF_UNIX, SOCK_SEQPACKET, 0));
    EXPECT_EQ(connect(client_.get(), reinterpret_cast<struct sockaddr*>(&addr),
                      sizeof(addr)),
              0)
        << std::strerror(errno);
    server_.reset(accept(listener_.get(), nullptr, nullptr));
    EXPECT_TRUE(server_.valid()) << std::strerror(errno);
  }
  ~Connection() {
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  int listener() const { return listener_.get(); }
  int client() const { return client_.get(); }
  int server() const { return server_.get(); }

 private:
  std::string dir_;
  std::string path_;
  UniqueFd listener_;
  UniqueFd client_;
  UniqueFd server_;
};

void ExpectOurselves(int fd) {
  uint8_t bytes[abi::kXucredSize + 16];
  size_t length = sizeof(bytes);
  ASSERT_EQ(GetLocalPeercred(fd, bytes, &length), 0) << std::strerror(errno);
  ASSERT_EQ(length, abi::kXucredSize);
  EXPECT_EQ(Get<uint32_t>(bytes, abi::kXucredVersionOffset), abi::kXucredVersion);
  EXPECT_EQ(Get<uint32_t>(bytes, abi::kXucredUidOffset), geteuid());
  const int ngroups = Get<int16_t>(bytes, abi::kXucredNgroupsOffset);
  EXPECT_GE(ngroups, 1);
  EXPECT_LE(ngroups, abi::kNgroups);
  EXPECT_EQ(Get<uint32_t>(bytes, abi::kXucredGroupsOffset), getegid());
}

TEST(PeerCredSysTest, BothEndsOfAConnectionHaveCredentials) {
  Connection connection;
  ExpectOurselves(connection.server());  // the client's, from connect()
  ExpectOurselves(connection.client());  // the listener's, from listen()
}

TEST(PeerCredSysTest, UnconnectedSocketIsEnotconn) {
  UniqueFd fd(socket(AF_UNIX, SOCK_SEQPACKET, 0));
  ASSERT_TRUE(fd.valid());
  uint8_t bytes[abi::kXucredSize];
  size_t length = sizeof(bytes);
  EXPECT_EQ(GetLocalPeercred(fd.get(), bytes, &length), -1);
  EXPECT_EQ(errno, ENOTCONN);
}

TEST(PeerCredSysTest, NotASocket) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  uint8_t bytes[abi::kXucredSize];
  size_t length = sizeof(bytes);
  EXPECT_EQ(GetLocalPeercred(read_end.get(), bytes, &length), -1);
  EXPECT_EQ(errno, ENOTSOCK);
  length = sizeof(bytes);
  EXPECT_EQ(GetLocalPeercred(-1, bytes, &length), -1);
  EXPECT_EQ(errno, EBADF);
}

}  // namespace
}  // namespace sysv::dragonfly_backend
