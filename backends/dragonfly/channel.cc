// Names checked against DragonFly's headers: accept4() and SOCK_CLOEXEC,
// SOCK_NONBLOCK, MSG_NOSIGNAL, MSG_CMSG_CLOEXEC, MSG_TRUNC, MSG_CTRUNC in
// sys/sys/socket.h; struct sockaddr_un with sun_len and a 104-byte sun_path
// in sys/sys/un.h (unp_bind() takes the name's length from sun_len). The
// calls whose data is laid out differently on Linux (control messages,
// sun_len) go through socket_sys.h, so that this file also runs on Linux
// over its double (--config=dragonfly_doubles).
#include "backends/dragonfly/channel.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <fcntl.h>
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
#include "backends/dragonfly/control_message.h"
#include "backends/dragonfly/socket_sys.h"
#include "core/ipc/errno_status.h"

namespace sysv::dragonfly_backend {
namespace {

using ::sysv::backend::UniqueFd;
using ::sysv::core::ErrnoStatus;

struct UnixAddress {
  struct sockaddr_un addr;
  socklen_t length;
  std::string path;
};

// A pathname socket address for `path`: sun_path holds the path and its NUL,
// sun_len the address's length.
absl::StatusOr<UnixAddress> MakeAddress(absl::string_view path) {
  UnixAddress result;
  std::memset(&result.addr, 0, sizeof(result.addr));
  result.addr.sun_family = AF_UNIX;
  if (path.empty() || path.find('\0') != absl::string_view::npos) {
    return ErrnoStatus(EINVAL, "socket path is empty or contains NUL");
  }
  if (path.size() >= sizeof(result.addr.sun_path)) {
    return ErrnoStatus(ENAMETOOLONG,
                       absl::StrCat("socket path longer than ",
                                    sizeof(result.addr.sun_path) - 1,
                                    " bytes: ", path));
  }
  result.path = std::string(path);
  std::memcpy(result.addr.sun_path, path.data(), path.size());
  result.length = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) +
                                         path.size() + 1);
  SetSunLen(&result.addr, result.length);
  return result;
}

int Connect(int fd, const UnixAddress& address) {
  return connect(fd, reinterpret_cast<const struct sockaddr*>(&address.addr),
                 address.length);
}

// Called when bind() found `address` taken. Results: OK if the path is now
// free (a stale socket file, unlinked; or gone meanwhile); EADDRINUSE if
// someone listens there or it is not a socket (never unlinked); another
// errno if the check failed.
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
      return absl::OkStatus();
    case EAGAIN:
    case EINPROGRESS:
    case EPROTOTYPE:
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

absl::Status Send(int fd, absl::Span<const uint8_t> bytes,
                  absl::Span<uint8_t> control) {
  ssize_t sent;
  do {
    sent = SendWithControl(fd, bytes.data(), bytes.size(), control.data(), control.size(), MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) return ErrnoStatus(errno, "sendmsg");
  if (static_cast<size_t>(sent) != bytes.size()) {
    return ErrnoStatus(EIO, absl::StrCat("sendmsg sent ", sent, " of ",
                                         bytes.size(), " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<UniqueFd> ListenSeqpacket(absl::string_view path, mode_t mode) {
  absl::StatusOr<UnixAddress> address = MakeAddress(path);
  if (!address.ok()) return address.status();
  UniqueFd fd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return ErrnoStatus(errno, "socket(AF_UNIX, SOCK_SEQPACKET)");
  const auto* sockaddr =
      reinterpret_cast<const struct sockaddr*>(&address->addr);
  if (bind(fd.get(), sockaddr, address->length) != 0) {
    if (errno != EADDRINUSE) {
      return ErrnoStatus(errno, absl::StrCat("bind ", address->path));
    }
    // Callers serialise start-up (a lock in the state directory), so two
    // daemons never unlink each other's fresh socket here.
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
    unlink(address->path.c_str());
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
  // A blocking Unix-socket connect interrupted by a signal may still
  // complete; EISCONN on the retry says it did.
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
  alignas(8) uint8_t control[RightsControlSize(kMaxFdsPerMessage)];
  const size_t used = BuildRights(absl::MakeSpan(control), fds);
  return Send(fd, bytes, absl::MakeSpan(control, used));
}

absl::Status SendMessageWithCredentials(int fd, absl::Span<const uint8_t> bytes) {
  if (bytes.empty()) {
    return ErrnoStatus(EINVAL, "empty message (would read as EOF)");
  }
  alignas(8) uint8_t control[kCredsControlSize];
  const size_t used = BuildCredsRequest(absl::MakeSpan(control));
  return Send(fd, bytes, absl::MakeSpan(control, used));
}

absl::StatusOr<ReceivedMessage> ReceiveMessage(int fd, absl::Span<uint8_t> buffer,
                                               int max_fds) {
  if (buffer.empty() || max_fds < 0 || max_fds > kMaxFdsPerMessage) {
    return ErrnoStatus(EINVAL, "empty buffer or bad max_fds");
  }
  // Room for max_fds descriptors or one SCM_CREDS, whichever is larger; a
  // sender that squeezes in more descriptors is refused below.
  alignas(8) uint8_t control[kMaxControlSize];
  const size_t room = abi::CmsgLen(sizeof(int32_t) * max_fds) > kCredsControlSize
                          ? abi::CmsgLen(sizeof(int32_t) * max_fds)
                          : kCredsControlSize;
  size_t control_size;
  int msg_flags = 0;
  ssize_t received;
  do {
    control_size = room;
    received = ReceiveWithControl(fd, buffer.data(), buffer.size(), control, &control_size, &msg_flags,
                                  MSG_CMSG_CLOEXEC);
  } while (received < 0 && errno == EINTR);
  if (received < 0) return ErrnoStatus(errno, "recvmsg");

  // Takes ownership of any descriptors before judging the message, so that
  // none leaks on the error paths below.
  absl::StatusOr<ParsedControl> parsed =
      ParseControl(absl::MakeConstSpan(control, control_size));
  if (!parsed.ok()) return parsed.status();
  ReceivedMessage result;
  result.size = static_cast<size_t>(received);
  result.fds = std::move(parsed->fds);
  result.sender = std::move(parsed->sender);
  if ((msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 ||
      result.fds.size() > static_cast<size_t>(max_fds)) {
    return ErrnoStatus(
        EMSGSIZE, absl::StrCat("message truncated or too many descriptors (",
                               result.fds.size(), "); buffer ", buffer.size(),
                               " bytes, ", max_fds, " fds"));
  }
  // A zero-length read is EOF; nothing that came with it is kept.
  if (received == 0) {
    result.fds.clear();
    result.sender.reset();
  }
  return result;
}

absl::StatusOr<ReceivedMessage> ReceiveMessageAwake(int fd, absl::Span<uint8_t> buffer, int max_fds,
                                                    absl::Duration awake_for) {
  sysv::backend::AwaitAwake(fd, awake_for);
  return ReceiveMessage(fd, buffer, max_fds);
}

absl::StatusOr<ReceivedMessage> ReceiveMessagePolled(int fd, absl::Span<uint8_t> buffer, int max_fds,
                                                     sysv::backend::PollWindow& window) {
  window.Await([fd] { return sysv::backend::ReportsAnything(fd); });
  return ReceiveMessage(fd, buffer, max_fds);
}

absl::Status IntroduceSelf(int fd) {
  const uint8_t introduction = kIntroduction;
  return SendMessageWithCredentials(fd, absl::MakeConstSpan(&introduction, 1));
}

absl::StatusOr<sysv::core::Credentials> IdentifyPeer(int fd) {
  absl::StatusOr<sysv::core::Credentials> connection = PeerCredentials(fd);
  if (!connection.ok()) return connection.status();
  uint8_t first[2];
  absl::StatusOr<ReceivedMessage> received = ReceiveMessage(fd, absl::MakeSpan(first), /*max_fds=*/0);
  if (!received.ok()) return received.status();
  if (received->size == 0) return ErrnoStatus(ECONNRESET, "the peer closed before introducing itself");
  if (received->size != 1 || first[0] != kIntroduction || !received->sender.has_value()) {
    return ErrnoStatus(EPROTO, "the peer's first message is not an introduction with SCM_CREDS");
  }
  return WithSenderPid(*connection, *received->sender);
}

}  // namespace sysv::dragonfly_backend
