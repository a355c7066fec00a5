#include "backends/linux/channel.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "backends/common/awake_poll.h"
#include "backends/common/unique_fd.h"
#include "core/ipc/errno_status.h"

namespace sysv::linux_backend {
namespace {

using ::sysv::backend::UniqueFd;
using ::sysv::core::ErrnoStatus;

struct UnixAddress {
  struct sockaddr_un addr;
  socklen_t length;
  std::string path;  // for messages and the path-based calls
  // For a path too long for sun_path: its directory, reached as
  // /proc/self/fd/<dir>/<name>. Kept open while the address is used.
  UniqueFd dir;
};

// A pathname socket address for `path`. sun_path must hold the path and its
// terminating NUL (the portable rule; Linux would take one byte more). A
// longer path (deep temporary directories, Bazel's sandboxes) is reached
// through its directory's descriptor in /proc/self/fd, which bind() and
// connect() resolve like any path.
absl::StatusOr<UnixAddress> MakeAddress(absl::string_view path) {
  UnixAddress result;
  std::memset(&result.addr, 0, sizeof(result.addr));
  result.addr.sun_family = AF_UNIX;
  if (path.empty() || path.find('\0') != absl::string_view::npos) {
    return ErrnoStatus(EINVAL, "socket path is empty or contains NUL");
  }
  result.path = std::string(path);
  std::string reachable = result.path;
  if (path.size() >= sizeof(result.addr.sun_path)) {
    const size_t slash = result.path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : result.path.substr(0, slash + 1);
    const std::string name = slash == std::string::npos ? result.path : result.path.substr(slash + 1);
    result.dir.reset(open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!result.dir) return ErrnoStatus(errno, absl::StrCat("open directory of socket ", path));
    reachable = absl::StrCat("/proc/self/fd/", result.dir.get(), "/", name);
    if (reachable.size() >= sizeof(result.addr.sun_path)) {
      return ErrnoStatus(ENAMETOOLONG,
                         absl::StrCat("socket name longer than ", sizeof(result.addr.sun_path) - 1,
                                      " bytes even through its directory: ", path));
    }
  }
  std::memcpy(result.addr.sun_path, reachable.data(), reachable.size());
  result.length =
      static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + reachable.size() + 1);
  return result;
}

int Connect(int fd, const UnixAddress& address) {
  return connect(fd, reinterpret_cast<const struct sockaddr*>(&address.addr),
                 address.length);
}

// Called when bind() found `address` taken. Results: OK if the path is now
// free to bind (it was a stale socket file and has been unlinked, or it
// vanished meanwhile); EADDRINUSE if someone listens there or the file is
// not a socket (never unlinked: it is not ours to remove); another errno if
// the check itself failed.
absl::Status RemoveStaleSocket(const UnixAddress& address) {
  struct stat st;
  if (lstat(address.path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoStatus(errno, absl::StrCat("lstat ", address.path));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return ErrnoStatus(EADDRINUSE,
                       absl::StrCat(address.path, " exists and is not a socket"));
  }
  // Only a live listener accepts a connection; a socket file whose daemon
  // died answers ECONNREFUSED. Non-blocking, so a listener with a full
  // backlog answers EAGAIN instead of making us wait: also alive.
  UniqueFd probe(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!probe) return ErrnoStatus(errno, "socket(AF_UNIX, SOCK_SEQPACKET)");
  if (Connect(probe.get(), address) == 0) {
    return ErrnoStatus(EADDRINUSE,
                       absl::StrCat("a server is listening at ", address.path));
  }
  switch (errno) {
    case ECONNREFUSED:
      break;
    case ENOENT:
      return absl::OkStatus();  // removed meanwhile
    case EAGAIN:
    case EINPROGRESS:
    case EPROTOTYPE:  // a live listener of another socket type
      return ErrnoStatus(EADDRINUSE,
                         absl::StrCat("a server is listening at ", address.path));
    default:
      return ErrnoStatus(errno, absl::StrCat("connect to ", address.path));
  }
  if (unlink(address.path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, absl::StrCat("unlink stale socket ", address.path));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<UniqueFd> ListenSeqpacket(absl::string_view path, mode_t mode) {
  absl::StatusOr<UnixAddress> address = MakeAddress(path);
  if (!address.ok()) return address.status();
  UniqueFd fd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return ErrnoStatus(errno, "socket(AF_UNIX, SOCK_SEQPACKET)");

  // Linux creates the socket file with the socket inode's mode minus the
  // umask (net/unix/af_unix.c:unix_bind()), so fchmod() first makes the file
  // never more permissive than `mode`, not even between bind() and chmod();
  // the chmod() after bind() then undoes what the umask took away.
  if (fchmod(fd.get(), mode) != 0) return ErrnoStatus(errno, "fchmod(socket)");
  const auto* sockaddr =
      reinterpret_cast<const struct sockaddr*>(&address->addr);
  if (bind(fd.get(), sockaddr, address->length) != 0) {
    if (errno != EADDRINUSE) {
      return ErrnoStatus(errno, absl::StrCat("bind ", address->path));
    }
    // Two daemons racing through here could unlink each other's fresh
    // socket; callers serialise start-up (a lock in the state directory).
    if (absl::Status stale = RemoveStaleSocket(*address); !stale.ok()) {
      return stale;
    }
    if (bind(fd.get(), sockaddr, address->length) != 0) {
      return ErrnoStatus(errno, absl::StrCat("bind ", address->path));
    }
  }
  if (chmod(address->path.c_str(), mode) != 0 ||
      listen(fd.get(), SOMAXCONN) != 0) {
    const int errnum = errno;
    unlink(address->path.c_str());  // ours, and useless now
    return ErrnoStatus(errnum, absl::StrCat("chmod/listen ", address->path));
  }
  return fd;
}

absl::StatusOr<UniqueFd> AcceptClient(int listen_fd) {
  int fd;
  do {
    fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ErrnoStatus(errno, "accept4");
  return UniqueFd(fd);
}

absl::StatusOr<UniqueFd> ConnectSeqpacket(absl::string_view path) {
  absl::StatusOr<UnixAddress> address = MakeAddress(path);
  if (!address.ok()) return address.status();
  UniqueFd fd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoStatus(errno, "socket(AF_UNIX, SOCK_SEQPACKET)");
  // An interrupted Unix-socket connect leaves the socket unconnected
  // (unix_stream_connect() bails out before linking the peers), so it is
  // simply tried again; EISCONN would mean the first attempt got through.
  int rc;
  do {
    rc = Connect(fd.get(), *address);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno != EISCONN) {
    return ErrnoStatus(errno, absl::StrCat("connect ", address->path));
  }
  return fd;
}

absl::Status SendMessage(int fd, absl::Span<const uint8_t> bytes,
                         absl::Span<const int> fds) {
  if (bytes.empty()) {
    return ErrnoStatus(EINVAL, "empty message (would read as EOF)");
  }
  if (fds.size() > static_cast<size_t>(kMaxFdsPerMessage)) {
    return ErrnoStatus(EINVAL, absl::StrCat(fds.size(), " fds in one message"));
  }
  struct iovec iov;
  iov.iov_base = const_cast<uint8_t*>(bytes.data());
  iov.iov_len = bytes.size();
  struct msghdr msg;
  std::memset(&msg, 0, sizeof(msg));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)];
  if (!fds.empty()) {
    const size_t data_size = sizeof(int) * fds.size();
    std::memset(control, 0, CMSG_SPACE(data_size));
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(data_size);
    struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(data_size);
    std::memcpy(CMSG_DATA(cmsg), fds.data(), data_size);
  }
  ssize_t sent;
  do {
    sent = sendmsg(fd, &msg, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) return ErrnoStatus(errno, "sendmsg");
  // A SEQPACKET message is sent whole or not at all; anything else means the
  // socket is not what the caller thinks.
  if (static_cast<size_t>(sent) != bytes.size()) {
    return ErrnoStatus(EIO, absl::StrCat("sendmsg sent ", sent, " of ",
                                         bytes.size(), " bytes"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ReceivedMessage> ReceiveMessage(int fd, absl::Span<uint8_t> buffer,
                                               int max_fds) {
  if (buffer.empty() || max_fds < 0 || max_fds > kMaxFdsPerMessage) {
    return ErrnoStatus(EINVAL, "empty buffer or bad max_fds");
  }
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)];
  struct iovec iov;
  struct msghdr msg;
  ssize_t received;
  do {
    iov.iov_base = buffer.data();
    iov.iov_len = buffer.size();
    std::memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (max_fds > 0) {
      msg.msg_control = control;
      // CMSG_LEN, not CMSG_SPACE: the kernel fits as many fds as the length
      // allows (scm_detach_fds()), and CMSG_SPACE's padding would admit one
      // more than max_fds when max_fds is odd.
      msg.msg_controllen = CMSG_LEN(sizeof(int) * max_fds);
    }
    received = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  } while (received < 0 && errno == EINTR);
  if (received < 0) return ErrnoStatus(errno, "recvmsg");

  ReceivedMessage result;
  result.size = static_cast<size_t>(received);
  // Take ownership of every descriptor that arrived before judging the
  // message, so that none leaks on the error paths below.
  if (msg.msg_controllen > 0) {
    for (struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr;
         cmsg = CMSG_NXTHDR(&msg, cmsg)) {
      if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) {
        continue;
      }
      const size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      const unsigned char* data = CMSG_DATA(cmsg);
      for (size_t i = 0; i < count; ++i) {
        int received_fd;
        std::memcpy(&received_fd, data + i * sizeof(int), sizeof(int));
        result.fds.emplace_back(received_fd);
      }
    }
  }
  if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
    return ErrnoStatus(
        EMSGSIZE,
        absl::StrCat("message truncated (",
                     (msg.msg_flags & MSG_TRUNC) != 0 ? "data" : "descriptors",
                     "); buffer ", buffer.size(), " bytes, ", max_fds, " fds"));
  }
  // A zero-length read is EOF; SendMessage never sends an empty message, so
  // descriptors attached to one are dropped rather than returned.
  if (received == 0) result.fds.clear();
  return result;
}

absl::StatusOr<ReceivedMessage> ReceiveMessageAwake(int fd, absl::Span<uint8_t> buffer, int max_fds,
                                                    absl::Duration awake_for) {
  backend::AwaitAwake(fd, awake_for);
  return ReceiveMessage(fd, buffer, max_fds);
}

absl::StatusOr<ReceivedMessage> ReceiveMessagePolled(int fd, absl::Span<uint8_t> buffer, int max_fds,
                                                     sysv::backend::PollWindow& window) {
  window.Await([fd] { return sysv::backend::ReportsAnything(fd); });
  return ReceiveMessage(fd, buffer, max_fds);
}

}  // namespace sysv::linux_backend
