#include "tests/reliability/raw_client.h"

#include <dirent.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "backends/common/namespace_layout.h"
#include "backends/platform.h"
#include "core/ipc/errno_status.h"

namespace sysv::testing {
namespace {

namespace wire = core::wire;

// More than any reply carries, so a reply with too many descriptors is seen
// as such rather than truncated.
constexpr int kMaxReceivedFds = 16;

int CountEntries(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* entry = readdir(d)) {
    if (entry->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n;
}

}  // namespace

RawReply::RawReply(RawReply&& other) noexcept
    : kind(other.kind), bytes(std::move(other.bytes)), fds(std::move(other.fds)), error(other.error) {
  other.fds.clear();
}

RawReply& RawReply::operator=(RawReply&& other) noexcept {
  if (this != &other) {
    for (int fd : fds) close(fd);
    kind = other.kind;
    bytes = std::move(other.bytes);
    fds = std::move(other.fds);
    other.fds.clear();
    error = other.error;
  }
  return *this;
}

RawReply::~RawReply() {
  for (int fd : fds) close(fd);
}

std::optional<wire::Header> RawReply::Header() const {
  if (kind != Kind::kMessage) return std::nullopt;
  absl::StatusOr<wire::Header> header = wire::DecodeHeader(bytes);
  if (!header.ok()) return std::nullopt;
  return *header;
}

std::optional<int> RawReply::Status() const {
  if (!Header() || bytes.size() < sizeof(wire::Header) + sizeof(wire::ReplyStatus)) return std::nullopt;
  wire::ReplyStatus status;
  std::memcpy(&status, bytes.data() + sizeof(wire::Header), sizeof(status));
  return status.error;
}

RawClient::RawClient(const std::string& dir) {
  const std::string path = backend::SocketPath(dir);
  fd_ = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    connect_error_ = errno;
    return;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    connect_error_ = errno;
    close(fd_);
    fd_ = -1;
    return;
  }
  // What every client sends first where the connection does not name the
  // peer's pid (DragonFly: an SCM_CREDS message); nothing on Linux.
  if (absl::Status introduced = platform::IntroduceSelf(fd_); !introduced.ok()) {
    connect_error_ = core::ErrnoOf(introduced);
    close(fd_);
    fd_ = -1;
  }
}

RawClient::RawClient(RawClient&& other) noexcept
    : fd_(other.fd_), connect_error_(other.connect_error_), request_id_(other.request_id_) {
  other.fd_ = -1;
}

RawClient::~RawClient() { Close(); }

void RawClient::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

int RawClient::Send(const std::vector<uint8_t>& bytes, const std::vector<int>& fds) {
  iovec iov{const_cast<uint8_t*>(bytes.data()), bytes.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control;
  if (!fds.empty()) {
    control.assign(CMSG_SPACE(sizeof(int) * fds.size()), 0);
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  do {
    n = sendmsg(fd_, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n < 0 ? errno : 0;
}

RawReply RawClient::Receive(int timeout_ms) {
  RawReply reply;
  pollfd pfd{fd_, POLLIN, 0};
  int ready;
  do {
    ready = poll(&pfd, 1, timeout_ms);
  } while (ready < 0 && errno == EINTR);
  if (ready == 0) {
    reply.kind = RawReply::Kind::kTimeout;
    return reply;
  }
  std::vector<uint8_t> buffer(wire::kMaxMessageSize * 2);
  iovec iov{buffer.data(), buffer.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxReceivedFds)];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = recvmsg(fd_, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    reply.kind = RawReply::Kind::kError;
    reply.error = errno;
    // A reset connection is the daemon dropping us.
    if (errno == ECONNRESET) reply.kind = RawReply::Kind::kEof;
    return reply;
  }
  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
      reply.fds.push_back(fd);
    }
  }
  if (n == 0) {
    reply.kind = RawReply::Kind::kEof;
    return reply;
  }
  buffer.resize(static_cast<size_t>(n));
  reply.bytes = std::move(buffer);
  reply.kind = RawReply::Kind::kMessage;
  return reply;
}

RawReply RawClient::RoundTrip(const std::vector<uint8_t>& bytes, const std::vector<int>& fds,
                              int timeout_ms) {
  if (const int err = Send(bytes, fds); err != 0) {
    RawReply reply;
    reply.kind = (err == EPIPE || err == ECONNRESET) ? RawReply::Kind::kEof : RawReply::Kind::kError;
    reply.error = err;
    return reply;
  }
  return Receive(timeout_ms);
}

int RawClient::Register(uint32_t flags) {
  const RawReply reply = Call<wire::Op::kRegister>(wire::RegisterRequest{flags, 0});
  auto decoded = DecodeRawReply<wire::Op::kRegister>(reply, request_id_);
  if (!decoded) return EPROTO;
  return decoded->status.error;
}

std::vector<uint8_t> HandMadeMessage(uint32_t magic, uint16_t version, uint16_t op, uint32_t length,
                                     uint32_t request_id, size_t body_size, uint8_t fill) {
  const wire::Header header{magic, version, op, length, request_id};
  std::vector<uint8_t> message(sizeof(header) + body_size, fill);
  std::memcpy(message.data(), &header, sizeof(header));
  return message;
}

int OpenFdCount() { return CountEntries("/proc/self/fd") - 1; /* the listing's own */ }

int OpenFdCountOf(pid_t pid) { return CountEntries(absl::StrCat("/proc/", pid, "/fd")); }

}  // namespace sysv::testing
