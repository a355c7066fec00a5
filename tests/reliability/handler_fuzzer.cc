// libFuzzer target for the daemon's request handling, not just the decoder:
// a real daemon::Server (over a real NamespaceState, epoll loop and exit
// watch) runs in this process on a thread of its own, and each input is a
// sequence of messages sent over real connections made by different users.
// Everything the daemon does with a message runs: decoding, the
// registration rule, Dispatch, the shm and sem services, the registries,
// the reply and its descriptors.
//
// Users: when this process is root, a connecting thread switches its own
// credentials (raw system calls change one thread only) before connect(),
// so SO_PEERCRED gives the daemon that user, and back afterwards.
//
// Input: records of [control byte][length byte][length bytes of message].
// Control bits 0-1 pick the user (root; 2001/3001; 2002/3002 with group
// 3001; 2006/3011), bit 2 sends on a fresh connection, bit 3 leaves that
// connection unregistered, bit 4 repairs the header (magic, version, the
// real length), bit 5 reads a small id (0-7) in an attach, open, ctl or
// sweep request as an index and puts the current id of the object there
// (ids change from input to input as sequence numbers grow), bits 6-7 are
// free (message queues' operations will want them; see IsMessageQueueOp).
// Every input starts from an empty namespace.
//
// Invariants (abort on violation):
//   - every message is answered, or its connection closed, within 10 s;
//   - a reply carries our magic and version, and the request's id when the
//     request had our header;
//   - descriptors come only with a successful kRegister (the tables and the
//     ledger: wire::kMaxFds), kShmAttach (1) or kSemOpen (1);
//   - the process (daemon and clients) does not accumulate descriptors;
//   - a granted descriptor respects the caller's permission on the object,
//     judged by this file's own copy of ipc/util.c:ipcperms() on the
//     object's IPC_STAT: a segment needs read (and write unless SHM_RDONLY,
//     and the descriptor is writable only then); a set needs read or write,
//     and its descriptor is writable exactly when the caller may alter it.
//
// Build and run (clang only):
//   CC=clang bazel build --config=clang //tests/reliability:handler_fuzzer
//   bazel-bin/tests/reliability/handler_fuzzer -max_total_time=60 tests/reliability/corpus/handler
// The same function runs under gcc in //tests/reliability:handler_fuzzer_replay_test.
#include <fcntl.h>
#include <poll.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/common/namespace_layout.h"
#include "backends/linux/event_loop_selector.h"
#include "backends/linux/exit_watch.h"
#include "core/protocol/codec.h"
#include "core/protocol/wire.h"
#include "daemon/config.h"
#include "daemon/log.h"
#include "daemon/namespace_state.h"
#include "daemon/server.h"

namespace {

namespace wire = sysv::core::wire;

// What the inputs made the daemon do, printed at exit: a replay or a fuzz
// run that never got a descriptor granted or refused tested little.
struct Counters {
  long messages = 0;
  long errors = 0;      // replies carrying an errno
  long granted = 0;     // replies carrying a segment's or a set's descriptor
  long refused = 0;     // kShmAttach/kSemOpen replies with EACCES
  long dropped = 0;     // connections the daemon closed
};
Counters& Count() {
  static Counters* counters = [] {
    auto* c = new Counters;
    std::atexit([] {
      const Counters& n = Count();
      std::fprintf(stderr, "handler_fuzzer: %ld messages, %ld errors, %ld descriptors granted, %ld refused, %ld connections dropped\n",
                   n.messages, n.errors, n.granted, n.refused, n.dropped);
    });
    return c;
  }();
  return *counters;
}

[[noreturn]] void Violated(const char* what) {
  std::fprintf(stderr, "handler_fuzzer: invariant violated: %s\n", what);
  std::abort();
}

void Require(bool condition, const char* what) {
  if (!condition) Violated(what);
}

struct User {
  uid_t uid;
  gid_t gid;
  std::vector<gid_t> groups;
};

const std::array<User, 4>& Users() {
  static const std::array<User, 4> users = {
      User{0, 0, {}}, User{2001, 3001, {}}, User{2002, 3002, {3001}}, User{2006, 3011, {}}};
  return users;
}

// ipc/util.c:ipcperms() for these users, written here independently of
// core/ipc/ipc_perm.cc, so that a wrong rule there cannot vouch for itself.
bool Permitted(const User& user, const wire::WirePerm& perm, int requested) {
  if (user.uid == 0) return true;  // CAP_IPC_OWNER
  int granted = static_cast<int>(perm.mode);
  bool in_group = user.gid == perm.gid || user.gid == perm.cgid;
  for (gid_t g : user.groups) in_group |= g == perm.gid || g == perm.cgid;
  if (user.uid == perm.uid || user.uid == perm.cuid) {
    granted >>= 6;
  } else if (in_group) {
    granted >>= 3;
  }
  return (requested & ~granted & 07) == 0;
}

// One thread's credentials, changed with raw system calls (glibc's
// wrappers change every thread of the process).
bool SwitchThreadTo(const User& user) {
  if (syscall(SYS_setgroups, user.groups.size(), user.groups.data()) != 0) return false;
  if (syscall(SYS_setresgid, -1, user.gid, -1) != 0) return false;
  return syscall(SYS_setresuid, -1, user.uid, -1) == 0;
}
void SwitchThreadBack() {
  // The saved uid stayed 0, so this is allowed.
  (void)syscall(SYS_setresuid, -1, 0, -1);
  (void)syscall(SYS_setresgid, -1, 0, -1);
  (void)syscall(SYS_setgroups, 0, nullptr);
}

class Harness {
 public:
  static Harness& Get() {
    static Harness* harness = new Harness();  // never destroyed: its thread runs to exit
    return *harness;
  }

  // A connected socket as user `who` (as ourselves when not root), or -1.
  int Connect(int who) {
    const bool switched = is_root_ && who != 0;
    if (switched && !SwitchThreadTo(Users()[who])) {
      SwitchThreadBack();
      return -1;
    }
    const int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path_.c_str(), sizeof(addr.sun_path) - 1);
    const bool ok = fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    if (switched) SwitchThreadBack();
    if (!ok) {
      if (fd >= 0) close(fd);
      return -1;
    }
    return fd;
  }

  const User& UserOf(int who) const { return is_root_ ? Users()[who] : self_; }

 private:
  Harness() {
    is_root_ = geteuid() == 0;
    self_ = User{geteuid(), getegid(), {}};
    sysv::daemon::SetLogLevel(sysv::daemon::LogLevel::kError);  // bad requests are the point
    char pattern[] = "/dev/shm/sysvipc-fuzz-XXXXXX";
    char tmp_pattern[] = "/tmp/sysvipc-fuzz-XXXXXX";
    const char* dir = mkdtemp(pattern);
    if (dir == nullptr) dir = mkdtemp(tmp_pattern);
    Require(dir != nullptr, "cannot make a namespace directory");
    dir_ = dir;
    chmod(dir_.c_str(), 0755);  // the other users reach the socket
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(Harness::Get().dir_, ignored);
    });
    socket_path_ = sysv::backend::SocketPath(dir_);

    sysv::daemon::ServerOptions options;
    options.dir = dir_;
    // Small limits: the fuzzer reaches them, and segments stay small.
    Require(sysv::daemon::ApplyConfigText(options.limits,
                                          "shmmni=8\nshmmax=65536\nshmall=64\nsemmni=8\nsemmsl=8\n"
                                          "semmns=64\nsemopm=8")
                .ok(),
            "limits");
    auto state = sysv::daemon::NamespaceState::Open(dir_, options.limits);
    Require(state.ok(), "NamespaceState::Open");
    auto loop = sysv::linux_backend::MakeEventLoop(sysv::backend::EventLoopKind::kEpoll);
    Require(loop.ok(), "MakeEventLoop");
    loop_ = *std::move(loop);
    auto exits = sysv::linux_backend::ExitWatch::Create();
    Require(exits.ok(), "ExitWatch::Create");
    server_ = std::make_unique<sysv::daemon::Server>(options, *std::move(state), *loop_, *std::move(exits));
    Require(server_->Start().ok(), "Server::Start");
    std::thread([this] { (void)loop_->Run(); }).detach();
  }

  bool is_root_ = false;
  User self_;
  std::string dir_;
  std::string socket_path_;
  std::unique_ptr<sysv::backend::EventLoop> loop_;
  std::unique_ptr<sysv::daemon::Server> server_;
};

struct Received {
  bool eof = false;
  std::vector<uint8_t> bytes;
  std::vector<int> fds;
};

Received SendAndReceive(int fd, const std::vector<uint8_t>& message) {
  Received result;
  if (send(fd, message.data(), message.size(), MSG_NOSIGNAL) < 0) {
    result.eof = true;  // closed earlier (EPIPE), or a message too large to send
    return result;
  }
  pollfd pfd{fd, POLLIN, 0};
  int ready;
  do {
    ready = poll(&pfd, 1, 10000);
  } while (ready < 0 && errno == EINTR);
  Require(ready == 1, "the daemon neither answered nor closed the connection within 10 s");
  std::vector<uint8_t> buffer(wire::kMaxMessageSize * 2);
  iovec iov{buffer.data(), buffer.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 16)];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  const ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); ++i) {
      int received;
      std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      result.fds.push_back(received);
    }
  }
  if (n <= 0) {
    result.eof = true;
    return result;
  }
  Require((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) == 0, "a reply larger than any message");
  buffer.resize(static_cast<size_t>(n));
  result.bytes = std::move(buffer);
  return result;
}

// Root's view of an object, for the permission oracle.
template <wire::Op kOp>
std::optional<typename wire::OpTraits<kOp>::Reply> RootCall(int root_fd,
                                                            const typename wire::OpTraits<kOp>::Request& body) {
  static uint32_t id = 1u << 31;
  const uint32_t request_id = ++id;
  Received r = SendAndReceive(root_fd, wire::EncodeRequest<kOp>(request_id, body));
  for (int fd : r.fds) close(fd);
  if (r.eof) return std::nullopt;
  auto reply = wire::DecodeReply<kOp>(r.bytes, request_id);
  if (!reply.ok()) return std::nullopt;
  return *reply;
}

bool Writable(int fd) { return (fcntl(fd, F_GETFL) & O_ACCMODE) != O_RDONLY; }

// Checks the reply to `message` (sent by user `who`).
void CheckReply(Harness& harness, int root_fd, int who, const std::vector<uint8_t>& message,
                const Received& reply) {
  ++Count().messages;
  if (reply.eof) {
    ++Count().dropped;
    Require(reply.fds.empty(), "descriptors with a hang-up");
    return;
  }
  absl::StatusOr<wire::Header> header = wire::DecodeHeader(reply.bytes);
  Require(header.ok(), "a reply that does not decode");
  Require(reply.bytes.size() >= sizeof(wire::Header) + sizeof(wire::ReplyStatus), "a reply without a status");
  wire::ReplyStatus status;
  std::memcpy(&status, reply.bytes.data() + sizeof(wire::Header), sizeof(status));
  Require(status.error >= 0 && status.error < 4096, "an error that is no errno");
  if (status.error != 0) ++Count().errors;
  wire::Header sent;
  const bool had_header = message.size() >= sizeof(sent);
  if (had_header) std::memcpy(&sent, message.data(), sizeof(sent));
  if (had_header && sent.magic == wire::kMagic) {
    Require(header->request_id == sent.request_id, "the reply names another request");
    Require(header->op == sent.op, "the reply names another operation");
  }
  absl::StatusOr<wire::DecodedRequest> request = wire::DecodeRequest(message);
  if (request.ok() && status.error == EACCES &&
      (request->op == wire::Op::kShmAttach || request->op == wire::Op::kSemOpen)) {
    ++Count().refused;
  }
  size_t expected_fds = 0;
  if (request.ok() && status.error == 0) {
    // The object tables and the ledger: the largest reply (wire.h).
    if (request->op == wire::Op::kRegister) expected_fds = static_cast<size_t>(wire::kMaxFds);
    if (request->op == wire::Op::kShmAttach || request->op == wire::Op::kSemOpen) expected_fds = 1;
  }
  Require(reply.fds.size() == expected_fds, "descriptors beside the wrong reply");
  if (expected_fds != 1) return;
  ++Count().granted;
  const User& user = harness.UserOf(who);
  if (request->op == wire::Op::kShmAttach) {
    const auto& body = std::get<wire::ShmAttachRequest>(request->body);
    wire::ShmCtlRequest stat{};
    stat.id = body.id;
    stat.cmd = IPC_STAT;
    auto owner_view = RootCall<wire::Op::kShmCtl>(root_fd, stat);
    Require(owner_view.has_value() && owner_view->status.error == 0, "an attached segment root cannot stat");
    const bool read_only = (body.shmflg & SHM_RDONLY) != 0;
    Require(Permitted(user, owner_view->perm, read_only ? 04 : 06), "a segment descriptor without permission");
    Require(!Writable(reply.fds[0]) || !read_only, "a writable descriptor for SHM_RDONLY");
  } else {
    const auto& body = std::get<wire::SemOpenRequest>(request->body);
    wire::SemCtlRequest stat{};
    stat.id = body.id;
    stat.cmd = IPC_STAT;
    auto owner_view = RootCall<wire::Op::kSemCtl>(root_fd, stat);
    Require(owner_view.has_value() && owner_view->status.error == 0, "an opened set root cannot stat");
    const bool may_alter = Permitted(user, owner_view->perm, 02);
    Require(may_alter || Permitted(user, owner_view->perm, 04), "a set descriptor without permission");
    Require(Writable(reply.fds[0]) == may_alter, "a set descriptor whose access is not the caller's");
  }
}

// Removes every object, so that each input starts from an empty namespace.
void RemoveEverything(int root_fd) {
  for (int32_t index = 0; index < 8; ++index) {
    wire::ShmCtlRequest stat{};
    stat.id = index;
    stat.cmd = SHM_STAT_ANY;
    if (auto found = RootCall<wire::Op::kShmCtl>(root_fd, stat); found && found->status.error == 0) {
      wire::ShmCtlRequest rm{};
      rm.id = found->value;
      rm.cmd = IPC_RMID;
      RootCall<wire::Op::kShmCtl>(root_fd, rm);
    }
    wire::SemCtlRequest sem_stat{};
    sem_stat.id = index;
    sem_stat.cmd = SEM_STAT_ANY;
    if (auto found = RootCall<wire::Op::kSemCtl>(root_fd, sem_stat); found && found->status.error == 0) {
      wire::SemCtlRequest rm{};
      rm.id = found->value;
      rm.cmd = IPC_RMID;
      RootCall<wire::Op::kSemCtl>(root_fd, rm);
    }
  }
}

// Message queue requests (kMsgGet 7, kMsgCtl 8, kMsgOpen 11) are not sent
// yet: RemoveEverything() cannot remove queues, so they would pile up from
// input to input. When queues land, drop this filter and remove queues
// there (MSG_STAT_ANY, IPC_RMID), and give their users control bits 6-7.
bool IsMessageQueueOp(const std::vector<uint8_t>& message) {
  if (message.size() < sizeof(wire::Header)) return false;
  wire::Header header;
  std::memcpy(&header, message.data(), sizeof(header));
  return header.magic == wire::kMagic && (header.op == 7 || header.op == 8 || header.op == 11);
}

// Control bit 5: the first body field of a request naming an object, if
// it is 0-7, becomes the current id of the object at that index.
void SubstituteId(int root_fd, std::vector<uint8_t>& message) {
  wire::Header header;
  std::memcpy(&header, message.data(), sizeof(header));
  int32_t index;
  std::memcpy(&index, message.data() + sizeof(header), sizeof(index));
  if (index < 0 || index >= 8) return;
  std::optional<int32_t> id;
  switch (static_cast<wire::Op>(header.op)) {
    case wire::Op::kShmAttach:
    case wire::Op::kShmCtl:
    case wire::Op::kShmSweep: {
      wire::ShmCtlRequest stat{};
      stat.id = index;
      stat.cmd = SHM_STAT_ANY;
      if (auto found = RootCall<wire::Op::kShmCtl>(root_fd, stat); found && found->status.error == 0) {
        id = found->value;
      }
      break;
    }
    case wire::Op::kSemOpen:
    case wire::Op::kSemCtl: {
      wire::SemCtlRequest stat{};
      stat.id = index;
      stat.cmd = SEM_STAT_ANY;
      if (auto found = RootCall<wire::Op::kSemCtl>(root_fd, stat); found && found->status.error == 0) {
        id = found->value;
      }
      break;
    }
    default:
      break;
  }
  if (id) std::memcpy(message.data() + sizeof(header), &*id, sizeof(*id));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Harness& harness = Harness::Get();
  const int root_fd = harness.Connect(0);
  Require(root_fd >= 0, "cannot connect to the daemon");
  {
    Received registered =
        SendAndReceive(root_fd, wire::EncodeRequest<wire::Op::kRegister>(1, wire::RegisterRequest{0, 0}));
    Require(registered.fds.size() == static_cast<size_t>(wire::kMaxFds), "root cannot register");
    for (int fd : registered.fds) close(fd);
  }
  std::array<int, 4> connections = {-1, -1, -1, -1};
  size_t pos = 0;
  for (int record = 0; record < 64 && pos + 2 <= size; ++record) {
    const uint8_t control = data[pos];
    const size_t length = std::min<size_t>(data[pos + 1], size - pos - 2);
    std::vector<uint8_t> message(data + pos + 2, data + pos + 2 + length);
    pos += 2 + length;
    if (message.empty()) continue;  // a zero-length SEQPACKET message reads as EOF
    const int who = control & 3;
    if ((control & 0x10) && message.size() >= sizeof(wire::Header)) {
      wire::Header header;
      std::memcpy(&header, message.data(), sizeof(header));
      header.magic = wire::kMagic;
      header.version = wire::kVersion;
      header.length = static_cast<uint32_t>(message.size());
      std::memcpy(message.data(), &header, sizeof(header));
    }
    if ((control & 0x20) && message.size() >= sizeof(wire::Header) + sizeof(int32_t)) {
      SubstituteId(root_fd, message);
    }
    if (IsMessageQueueOp(message)) continue;
    if ((control & 0x04) && connections[who] >= 0) {
      close(connections[who]);
      connections[who] = -1;
    }
    if (connections[who] < 0) {
      connections[who] = harness.Connect(who);
      if (connections[who] < 0) continue;
      if (!(control & 0x08)) {
        Received r = SendAndReceive(connections[who],
                                    wire::EncodeRequest<wire::Op::kRegister>(0, wire::RegisterRequest{0, 0}));
        Require(r.fds.size() == static_cast<size_t>(wire::kMaxFds), "a fresh connection cannot register");
        for (int fd : r.fds) close(fd);
      }
    }
    Received reply = SendAndReceive(connections[who], message);
    CheckReply(harness, root_fd, who, message, reply);
    for (int fd : reply.fds) close(fd);
    if (reply.eof) {
      close(connections[who]);
      connections[who] = -1;
    }
  }
  for (int fd : connections) {
    if (fd >= 0) close(fd);
  }
  RemoveEverything(root_fd);
  close(root_fd);
  // Descriptors: this process is the daemon and its clients, and every
  // client descriptor is closed by now; the daemon must not keep any for
  // connections that are gone or replies that were sent. Its own closes
  // happen on its thread, a moment later: allow slack, catch growth.
  static int inputs = 0;
  static int baseline = -1;
  if (++inputs % 256 == 0) {
    int open_fds = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++open_fds;
    if (baseline < 0) baseline = open_fds;
    Require(open_fds < baseline + 200, "descriptors leak");
  }
  return 0;
}
