#include "backends/linux/fd_keeper.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/ipc/errno_status.h"

namespace sysv::linux_backend {

using backend::UniqueFd;

namespace {

// Requests: one byte of operation, then the name. Put carries the
// descriptor; List is answered with one kFile message per descriptor (name,
// descriptor attached) and a kEnd; the others with an int32 errno. kBell
// carries the doorbell (an eventfd); keepers of before it answer EINVAL.
constexpr char kPut = 'P';
constexpr char kBell = 'B';
constexpr char kDrop = 'D';
constexpr char kList = 'L';
constexpr char kFile = 'F';
constexpr char kEnd = 'Z';
constexpr size_t kMaxMessage = 1 + FdKeeper::kMaxName;

// The effective uid of the peer of connected socket `fd`, or -1.
int64_t PeerUid(int fd) {
  struct ucred cred {};
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
  return cred.uid;
}

// Sends `bytes` with descriptor `fd` attached (none if negative).
bool SendWithFd(int sock, const void* bytes, size_t len, int fd) {
  struct iovec iov = {const_cast<void*>(bytes), len};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  }
  for (;;) {
    const ssize_t sent = sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (sent >= 0) return static_cast<size_t>(sent) == len;
    if (errno != EINTR) return false;
  }
}

// One message and the descriptor it carried (invalid if none). Returns the
// length, 0 at end of stream, -1 with errno on error. `truncated` is set
// when a descriptor was sent but could not be received (EMFILE).
ssize_t ReceiveWithFd(int sock, char* buffer, size_t len, UniqueFd* fd, bool* truncated, int flags = 0) {
  struct iovec iov = {buffer, len};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t got;
  do {
    got = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | flags);
  } while (got < 0 && errno == EINTR);
  if (got < 0) return got;
  *truncated = (msg.msg_flags & MSG_CTRUNC) != 0;
  for (struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
    int received = -1;
    std::memcpy(&received, CMSG_DATA(cmsg), sizeof(int));
    fd->reset(received);
  }
  return got;
}

// Starts a keeper on listening socket `listen_fd`: the daemon's binary
// again, in a session of its own, orphaned at once (a grandchild) so that
// nobody has to reap it. Only async-signal-safe calls between fork and exec.
absl::Status SpawnKeeper(int listen_fd) {
  const pid_t child = fork();
  if (child < 0) return core::ErrnoStatus(errno, "fork the fd keeper");
  if (child == 0) {
    (void)setsid();
    if (fork() != 0) _exit(0);
    if (listen_fd == FdKeeper::kListenFd) {
      (void)fcntl(listen_fd, F_SETFD, 0);
    } else if (dup2(listen_fd, FdKeeper::kListenFd) < 0) {
      _exit(127);
    }
    // Every descriptor of the daemon's is close-on-exec; close_range is a
    // second line where the kernel has it.
    (void)syscall(SYS_close_range, FdKeeper::kListenFd + 1, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, nullptr);
    execl("/proc/self/exe", "sysvipcd", FdKeeper::kFlag, static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> ConnectTo(const std::string& path) {
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return core::ErrnoStatus(ENAMETOOLONG, path);
  std::memcpy(addr.sun_path, path.data(), path.size());
  UniqueFd fd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd) return core::ErrnoStatus(errno, "fd keeper socket");
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return core::ErrnoStatus(errno, absl::StrCat("connect to the fd keeper at ", path));
  }
  // Whoever made the socket must be the daemon's user: anyone else could
  // keep (and read) the objects.
  if (PeerUid(fd.get()) != static_cast<int64_t>(geteuid())) {
    return core::ErrnoStatus(EPERM, absl::StrCat("the fd keeper at ", path, " is another user's"));
  }
  return fd;
}

absl::StatusOr<UniqueFd> ListenAt(const std::string& path) {
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return core::ErrnoStatus(ENAMETOOLONG, path);
  std::memcpy(addr.sun_path, path.data(), path.size());
  UniqueFd fd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd) return core::ErrnoStatus(errno, "fd keeper socket");
  (void)unlink(path.c_str());  // a dead keeper's
  // 0600 from the start: the mode is the umask's at bind.
  const mode_t old_mask = umask(0177);
  const int bound = bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  const int bind_errno = errno;
  umask(old_mask);
  if (bound != 0) return core::ErrnoStatus(bind_errno, absl::StrCat("bind the fd keeper at ", path));
  if (listen(fd.get(), 4) != 0) return core::ErrnoStatus(errno, "listen");
  return fd;
}

void RaiseDescriptorLimit() {
  struct rlimit limit {};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// Answers one request from the daemon on `peer` (with MSG_DONTWAIT in
// `flags`, only one already queued). A doorbell offered is taken into
// `doorbell` (refused when it is null). False when there was none: the daemon
// is gone (end of stream or an error) or, without waiting, has sent no
// more. An answer that cannot be sent is no reason to stop: a daemon killed
// after sending still has its queued requests served, and the next receive
// tells whether it is gone.
bool Serve(int peer, absl::flat_hash_map<std::string, UniqueFd>& held, int flags, UniqueFd* doorbell) {
  char buffer[kMaxMessage + 1];
  UniqueFd fd;
  bool truncated = false;
  const ssize_t got = ReceiveWithFd(peer, buffer, sizeof(buffer), &fd, &truncated, flags);
  // A daemon that died with answers unread leaves ECONNRESET pending on
  // this socket, reported once, before the requests it queued (measured on
  // Linux 6.18): read on, they are objects it created.
  if (got < 0 && errno == ECONNRESET) return true;
  if (got <= 0) return false;
  const std::string name(buffer + 1, static_cast<size_t>(got) - 1);
  int32_t answer = 0;
  switch (buffer[0]) {
    case kPut:
      if (truncated) {
        answer = EMFILE;
      } else if (!fd || name.empty() || name.size() > FdKeeper::kMaxName) {
        answer = EINVAL;
      } else {
        held[name] = std::move(fd);
      }
      break;
    case kDrop:
      held.erase(name);
      break;
    case kBell:
      if (doorbell == nullptr || !fd) {
        answer = EINVAL;
      } else {
        *doorbell = std::move(fd);
      }
      break;
    case kList: {
      for (const auto& [held_name, held_fd] : held) {
        const std::string message = std::string(1, kFile) + held_name;
        if (!SendWithFd(peer, message.data(), message.size(), held_fd.get())) return true;
      }
      (void)SendWithFd(peer, &kEnd, 1, -1);
      return true;
    }
    default:
      answer = EINVAL;
  }
  (void)SendWithFd(peer, &answer, sizeof(answer), -1);
  return true;
}

}  // namespace

absl::StatusOr<FdKeeper> FdKeeper::ConnectOrStart(const std::string& socket_path, bool offer_doorbell) {
  absl::StatusOr<UniqueFd> connected = ConnectTo(socket_path);
  if (!connected.ok()) {
    if (core::ErrnoOf(connected.status()) == EPERM) return connected.status();
    absl::StatusOr<UniqueFd> listening = ListenAt(socket_path);
    if (!listening.ok()) return listening.status();
    if (absl::Status status = SpawnKeeper(listening->get()); !status.ok()) return status;
    // The backlog takes the connection before the keeper runs.
    connected = ConnectTo(socket_path);
    if (!connected.ok()) return connected.status();
  }
  FdKeeper keeper(*std::move(connected));
  if (offer_doorbell) {
    if (absl::Status status = keeper.OfferDoorbell(); !status.ok()) return status;
  }
  return keeper;
}

absl::Status FdKeeper::OfferDoorbell() {
  offered_doorbell_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!offered_doorbell_) return core::ErrnoStatus(errno, "fd keeper doorbell");
  if (absl::Status status = Send(kBell, "", offered_doorbell_.get()); !status.ok()) return status;
  // Answered at once: the keeper wakes for every request until it holds a
  // doorbell. ReadAnswers files the answer.
  return ReadAnswers(0);
}

void FdKeeper::Ring() {
  unrung_ = 0;
  if (!doorbell_) return;
  const uint64_t one = 1;
  // Only a counter at its maximum refuses (EAGAIN), and it is rung then.
  (void)!write(doorbell_.get(), &one, sizeof(one));
}

absl::Status FdKeeper::Send(char op, absl::string_view name, int fd) {
  if (name.size() > kMaxName) return core::ErrnoStatus(ENAMETOOLONG, "fd keeper name");
  // The daemon's event loop reads answers as they come; only a full window
  // waits here.
  if (unanswered_.size() >= kMaxUnanswered) {
    if (absl::Status status = ReadAnswers(kMaxUnanswered - 1); !status.ok()) return status;
  }
  const std::string message = std::string(1, op) + std::string(name);
  if (!SendWithFd(fd_.get(), message.data(), message.size(), fd)) {
    return core::ErrnoStatus(errno != 0 ? errno : EPIPE, "send to the fd keeper");
  }
  unanswered_.emplace_back(op, std::string(name));
  // Half a window: the keeper serves these while the daemon goes on, and a
  // full window (a wait) stays rare.
  if (++unrung_ >= kMaxUnanswered / 2) Ring();
  return absl::OkStatus();
}

absl::Status FdKeeper::ReadAnswers(size_t unanswered) {
  // A keeper with a doorbell answers only once it rings.
  if (unanswered_.size() > unanswered) Ring();
  while (!unanswered_.empty()) {
    const bool wait = unanswered_.size() > unanswered;
    int32_t answer = 0;
    ssize_t got;
    do {
      got = recv(fd_.get(), &answer, sizeof(answer), wait ? 0 : MSG_DONTWAIT);
    } while (got < 0 && errno == EINTR);
    if (got < 0 && !wait && (errno == EAGAIN || errno == EWOULDBLOCK)) return absl::OkStatus();
    if (got != sizeof(answer)) return core::ErrnoStatus(got < 0 ? errno : ECONNRESET, "fd keeper answer");
    auto [op, name] = std::move(unanswered_.front());
    unanswered_.pop_front();
    if (op == kBell) {
      if (answer == 0) doorbell_ = std::move(offered_doorbell_);
      offered_doorbell_.reset();
    } else if (answer != 0 && op == kPut) {
      refused_.emplace_back(std::move(name), answer);
    }
  }
  return absl::OkStatus();
}

absl::Status FdKeeper::Put(absl::string_view name, int fd) { return Send(kPut, name, fd); }

absl::Status FdKeeper::Drop(absl::string_view name) { return Send(kDrop, name, -1); }

absl::StatusOr<std::vector<std::pair<std::string, UniqueFd>>> FdKeeper::List() {
  if (absl::Status status = ReadAnswers(0); !status.ok()) return status;
  if (!SendWithFd(fd_.get(), &kList, 1, -1)) return core::ErrnoStatus(errno != 0 ? errno : EPIPE, "fd keeper list");
  Ring();
  std::vector<std::pair<std::string, UniqueFd>> files;
  for (;;) {
    char buffer[kMaxMessage + 1];
    UniqueFd fd;
    bool truncated = false;
    const ssize_t got = ReceiveWithFd(fd_.get(), buffer, sizeof(buffer), &fd, &truncated);
    if (got <= 0) return core::ErrnoStatus(got < 0 ? errno : ECONNRESET, "fd keeper list");
    if (buffer[0] == kEnd) return files;
    if (truncated) return core::ErrnoStatus(EMFILE, "fd keeper list: no room for a descriptor");
    if (buffer[0] != kFile || !fd) return core::ErrnoStatus(EPROTO, "fd keeper list");
    files.emplace_back(std::string(buffer + 1, static_cast<size_t>(got) - 1), std::move(fd));
  }
}

bool PeerGone(int fd) {
  char byte = 0;
  ssize_t got;
  do {
    got = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  } while (got < 0 && errno == EINTR);
  if (got > 0) return false;
  return got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

int RunFdKeeper(int listen_fd, bool take_doorbells) {
  RaiseDescriptorLimit();
  absl::flat_hash_map<std::string, UniqueFd> held;
  UniqueFd peer;
  // The peer's doorbell, if it gave one (fd_keeper.h).
  UniqueFd doorbell;
  UniqueFd* const taken = take_doorbells ? &doorbell : nullptr;
  absl::Time alone_since = absl::Now();
  const int drain_ms = static_cast<int>(absl::ToInt64Milliseconds(FdKeeper::kDrainEvery));
  for (;;) {
    // With a doorbell, the connection is watched for hang-up only: a
    // request queued there wakes nobody.
    struct pollfd fds[3] = {
        {listen_fd, POLLIN, 0}, {peer.get(), static_cast<short>(doorbell ? 0 : POLLIN), 0}, {doorbell.get(), POLLIN, 0}};
    const int ready = poll(fds, !peer ? 1 : doorbell ? 3 : 2, drain_ms);
    if (ready < 0 && errno != EINTR) return 1;
    if (!peer && absl::Now() - alone_since > FdKeeper::kLinger) return 0;
    if (ready < 0) continue;
    if (fds[0].revents & POLLIN) {
      UniqueFd accepted(accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
      // The latest daemon wins: its predecessor is dead or on its way out
      // (the namespace lock lets one daemon serve at a time). What it sent
      // before is served first: it did not wait for answers, so its last
      // Puts (objects it created and answered for) may still be queued.
      if (accepted && PeerUid(accepted.get()) == static_cast<int64_t>(geteuid())) {
        if (peer) {
          while (Serve(peer.get(), held, MSG_DONTWAIT, taken)) {
          }
        }
        peer = std::move(accepted);
        doorbell.reset();
        continue;
      }
    }
    if (fds[0].revents & (POLLERR | POLLNVAL)) return 1;
    if (!peer) continue;
    bool gone = false;
    if (!doorbell) {
      if (ready == 0 || (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      gone = !Serve(peer.get(), held, 0, taken);
    } else if ((fds[1].revents & (POLLHUP | POLLERR)) != 0) {
      // The daemon is gone: everything it queued is served (the last
      // receive blocks only until the end of the stream).
      while (Serve(peer.get(), held, 0, taken)) {
      }
      gone = true;
    } else {
      // Rung, or kDrainEvery passed: the count is read before the queue,
      // so a request sent before a later ring is served now or by it.
      uint64_t count = 0;
      if (fds[2].revents & POLLIN) (void)!read(doorbell.get(), &count, sizeof(count));
      while (Serve(peer.get(), held, MSG_DONTWAIT, taken)) {
      }
    }
    if (gone) {
      peer.reset();
      doorbell.reset();
      if (held.empty()) return 0;
      alone_since = absl::Now();
    }
  }
}

}  // namespace sysv::linux_backend
