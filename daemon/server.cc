#include "daemon/server.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <iterator>
#include <utility>
#include <variant>

#include "absl/container/flat_hash_set.h"
#include "absl/time/clock.h"
#include "backends/common/guarded_mapping.h"
#include "backends/common/namespace_layout.h"
#include "backends/platform.h"
#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_id.h"  // semaphores, read-only callers
#include "core/ipc/table_limits.h"
#include "daemon/log.h"
#include "daemon/region_dir.h"

namespace sysv::daemon {
namespace {

namespace wire = core::wire;
using backend::UniqueFd;

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// The retry timer's backoff: the first retry after new work or progress,
// and the longest gap while nothing moves (a holder stopped for good, a
// forged word: a pass then costs one try-lock per busy object, at most
// kMaxBusyObjectsPerPass, this often).
// The file change watch's tags: which directory a changed file is in.
constexpr int kShmFiles = 0;
constexpr int kSemFiles = 1;
constexpr int kMsgFiles = 2;
constexpr int kLedgerFiles = 3;

constexpr absl::Duration kFirstRetryDelay = absl::Milliseconds(2);
constexpr absl::Duration kMaxRetryDelay = absl::Milliseconds(250);

// Whether the client of a connection that is not being read (its request
// is parked) has closed it or failed: its parked request is then dropped.
bool PeerHungUp(int fd) {
  struct pollfd p = {fd, 0, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0;
}

}  // namespace

Server::Server(ServerOptions options, std::unique_ptr<NamespaceState> state,
               backend::EventLoop& loop, platform::ExitWatch exits)
    : options_(std::move(options)),
      state_(std::move(state)),
      loop_(loop),
      exits_(std::move(exits)),
      socket_path_(backend::SocketPath(options_.dir)),
      clients_(
          state_->ledger_dir_fd(), state_->shm_table().capacity(),
          core::UserLimits::ResolvedShare(options_.limits.user.processes, options_.max_connections),
          [this](int process_fd, int32_t pid) { return exits_.Add(pid, process_fd); },
          [this](int process_fd) { exits_.Remove(process_fd); }),
      shm_(state_->shm_table(), options_.limits, state_->user_quota(), state_->shm_dir_fd(), clients_,
           options_.driver, &sealed_),
      sem_(state_->sem_table(), options_.limits, state_->user_quota(), state_->sem_dir_fd(), &sealed_),
      msg_(state_->msg_table(), options_.limits, state_->user_quota(), state_->msg_dir_fd(), &sealed_),
      sysctl_(options_.limits, shm_.ids(), sem_.ids(), msg_.ids(), state_->user_quota()),
      connection_share_(
          core::UserLimits::ResolvedShare(options_.limits.user.connections, options_.max_connections)),
      retry_delay_(kFirstRetryDelay) {
  clients_.ChargeLedgersTo(state_->user_quota());
  // Before recovery and before anyone is served: from here on the tables'
  // headers answer IPC_INFO and SEM_INFO (core/ipc/table_limits.h).
  core::PublishTableLimits(options_.limits, shm_.ids(), sem_.ids(), msg_.ids());
}

Server::~Server() = default;

absl::Status Server::Start() {
  absl::StatusOr<platform::RetryTimer> timer = platform::RetryTimer::Create();
  if (!timer.ok()) return timer.status();
  retry_timer_ = *std::move(timer);
  if (absl::Status status = loop_.Watch(retry_timer_->fd(), [this] { OnRetryTimer(); }); !status.ok()) {
    return status;
  }
  // Sealed regions first: the keeper holds those of the daemon before.
  // With the security driver, segments are its objects, but sets still
  // use sealed regions.
  if (absl::Status status = sealed_.UseKeeper(absl::StrCat(options_.dir, "/", backend::kKeeperName)); !status.ok()) {
    SYSV_LOG(kWarning,
             "segments, semaphore sets and message queues are region files (a writer can cut one under its other "
             "users): %s",
             status.ToString());
  } else if (absl::Status watched = WatchKeeper(); !watched.ok()) {
    return watched;
  }
  sem_.Recover();
  msg_.Recover();
  // Order matters: clients first (their ledgers tell which segments are still
  // attached), then segment files nobody names.
  const ShmStore::SegmentFileMap segment_files = shm_.SegmentFiles();
  clients_.Recover(
      [&](ClientProcess& process) {
        process.shm_grants = shm_.RecoverGrants(process.pid, process.start_time, segment_files);
      },
      [this](const ClientProcess& process) { OnClientExit(process); });
  shm_.RemoveOrphans();
  if (options_.driver != nullptr) {
    // Last detaches reported while no daemon ran are read now, then as
    // they come.
    shm_.OnDriverEvents();
    if (absl::Status status = loop_.Watch(options_.driver->event_fd(), [this] { shm_.OnDriverEvents(); });
        !status.ok()) {
      return status;
    }
  }
  if (absl::StatusOr<platform::FileChangeWatch> watch = platform::FileChangeWatch::Create(); !watch.ok()) {
    SYSV_LOG(kWarning, "resizes of region files through clients' descriptors will not be taken back: %s",
             watch.status().ToString());
  } else {
    file_changes_ = *std::move(watch);
    for (const auto& [tag, dir_fd] : WatchedDirs()) {
      if (absl::Status status = file_changes_->Add(dir_fd, tag); !status.ok()) return status;
    }
    if (absl::Status status = loop_.Watch(file_changes_->fd(), [this] { OnFilesChanged(); }); !status.ok()) {
      return status;
    }
  }
  // Holders named in the table before the restart may be gone; from here
  // on every change of grants republishes its segment's.
  shm_.PublishAllHolders();
  clients_.OnGrantsChanged([this](int32_t index) { shm_.PublishHolder(index); });
  if (absl::Status status = loop_.Watch(exits_.fd(),
                                        [this] {
                                          ReapExitedClients();
                                          ScheduleRetry();
                                        });
      !status.ok()) {
    return status;
  }
  ScheduleRetry();
  if (state_->recovered()) {
    SYSV_LOG(kInfo, "recovered namespace %s (%d live client processes)", options_.dir, clients_.size());
  }
  // We hold the namespace lock, so any socket file there is a dead daemon's.
  // (Connecting to it is no test: a daemon killed while using io_uring can
  // keep its listening socket open for a moment after it died.) Removed
  // through the verified directory; the bind below is by name (bind() has no
  // *at() form), in a directory only its owner or root can change, and
  // clients check who answers on it (compat/daemon_connection.h).
  (void)unlinkat(state_->dir_fd(), backend::kSocketName, 0);
  absl::StatusOr<UniqueFd> listen_fd = platform::ListenSeqpacket(socket_path_, state_->socket_mode());
  if (!listen_fd.ok()) return listen_fd.status();
  listen_fd_ = *std::move(listen_fd);
  if (absl::Status status = loop_.Watch(listen_fd_.get(), [this] { OnAcceptable(); }); !status.ok()) {
    return status;
  }
  SYSV_LOG(kInfo, "serving %s with the %s event loop", socket_path_, loop_.name());
  return absl::OkStatus();
}

void Server::Shutdown() {
  if (listen_fd_.get() >= 0) {
    loop_.Unwatch(listen_fd_.get());
    listen_fd_.reset();
    (void)unlinkat(state_->dir_fd(), backend::kSocketName, 0);
  }
}

void Server::OnAcceptable() {
  for (;;) {
    absl::StatusOr<UniqueFd> fd = platform::AcceptClient(listen_fd_.get());
    if (!fd.ok()) {
      const int err = core::ErrnoOf(fd.status());
      if (err != EAGAIN && err != EWOULDBLOCK) {
        SYSV_LOG(kWarning, "accept: %s", fd.status().ToString());
      }
      return;
    }
    // The peer's credentials are read here only to name the refused user:
    // Introduce() reads them (IdentifyPeer) for every admitted client, and
    // on Linux each read costs six system calls, a /proc file among them,
    // in the path of every process's first call.
    if (static_cast<int>(connections_.size() + introducing_.size()) >= options_.max_connections) {
      absl::StatusOr<core::Credentials> creds = platform::PeerCredentials(fd->get());
      if (!creds.ok()) {
        SYSV_LOG(kWarning, "dropping a client without credentials: %s", creds.status().ToString());
        continue;
      }
      Refuse(*std::move(fd), "the daemon's connection limit is reached", creds->uid);
      continue;
    }
    Introduce(*std::move(fd));
  }
}

void Server::Introduce(UniqueFd fd) {
  const int raw = fd.get();
  absl::StatusOr<core::Credentials> creds = platform::IdentifyPeer(raw);
  if (!creds.ok() && core::ErrnoOf(creds.status()) == EAGAIN) {
    // The peer's pid is not known yet (backends/<os>/platform.h): wait for
    // the client's introduction, counted against the connection limit.
    if (introducing_.contains(raw)) return;
    if (absl::Status status = loop_.Watch(raw, [this, raw] { OnIntroduced(raw); }); !status.ok()) {
      SYSV_LOG(kWarning, "cannot watch a client: %s", status.ToString());
      return;
    }
    introducing_[raw] = std::move(fd);
    return;
  }
  if (!creds.ok()) {
    SYSV_LOG(kWarning, "dropping a client without credentials: %s", creds.status().ToString());
    return;
  }
  Admit(std::move(fd), *std::move(creds));
}

void Server::OnIntroduced(int fd) {
  auto it = introducing_.find(fd);
  if (it == introducing_.end()) return;
  UniqueFd owned = std::move(it->second);
  introducing_.erase(it);
  loop_.Unwatch(fd);
  Introduce(std::move(owned));
}

void Server::Admit(UniqueFd fd, core::Credentials creds) {
  if (auto open = connections_per_user_.find(creds.uid);
      connection_share_ != 0 && open != connections_per_user_.end() && open->second >= connection_share_) {
    Refuse(std::move(fd), "its user's share of connections (user_connections) is in use", creds.uid);
    return;
  }
  absl::StatusOr<platform::ProcessInstance> instance =
      platform::PeerProcess(fd.get(), creds.pid, creds.uid);
  if (!instance.ok()) {
    // It exited already: nobody to serve (whoever holds the socket).
    SYSV_LOG(kDebug, "dropping a client whose process is gone: %s", instance.status().ToString());
    return;
  }
  // A process whose maps cannot be read is treated as in the initial
  // namespace; it can only widen what IPC_SET accepts, never access.
  (void)platform::ReadIdMaps(creds.pid, creds);
  auto connection = std::make_unique<Connection>();
  connection->fd = std::move(fd);
  connection->creds = std::move(creds);
  connection->process_fd = std::move(instance->process_fd);
  connection->start_time = instance->start_time;
  const int raw = connection->fd.get();
  if (absl::Status status = loop_.Watch(raw, [this, raw] { OnReadable(raw); }); !status.ok()) {
    SYSV_LOG(kWarning, "cannot watch a client: %s", status.ToString());
    return;
  }
  // The process's exit closes its channel, whoever else holds the socket.
  if (absl::Status status = loop_.Watch(connection->process_fd.get(), [this, raw] { CloseConnection(raw); });
      !status.ok()) {
    SYSV_LOG(kWarning, "cannot watch a client's process: %s", status.ToString());
    loop_.Unwatch(raw);
    return;
  }
  ++connections_per_user_[connection->creds.uid];
  connections_[raw] = std::move(connection);
}

void Server::Refuse(UniqueFd fd, const char* why, uint32_t uid) {
  SYSV_LOG(kWarning, "refusing a connection of uid %u: %s", uid, why);
  // Sent at once and readable after the close (wire::EncodeRefusal); a
  // full socket buffer (nothing was read yet, so it is not) would only
  // leave the client with EOF.
  (void)platform::SendMessage(fd.get(), wire::EncodeRefusal(EAGAIN), {});
  // Closing with a request unread would make the client's kernel report a
  // reset before the refusal: read what it sent already (a bounded number
  // of messages; the socket is non-blocking).
  uint8_t sink[wire::kMaxMessageSize];
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<platform::ReceivedMessage> unread =
        platform::ReceiveMessage(fd.get(), absl::MakeSpan(sink), /*max_fds=*/4);
    if (!unread.ok() || unread->size == 0) break;
  }
}

ClientProcess* Server::ProcessOf(const Connection& connection) {
  return clients_.Find(connection.creds.pid, connection.start_time);
}

void Server::OnReadable(int fd) {
  auto it = connections_.find(fd);
  if (it == connections_.end()) return;
  Connection& connection = *it->second;
  uint8_t buffer[wire::kMaxMessageSize];
  // Clients never send descriptors; accept up to a few so they can be closed
  // rather than leaving the message undeliverable.
  absl::StatusOr<platform::ReceivedMessage> received =
      platform::ReceiveMessage(fd, absl::MakeSpan(buffer), /*max_fds=*/4);
  if (!received.ok()) {
    const int err = core::ErrnoOf(received.status());
    if (err == EAGAIN || err == EWOULDBLOCK) return;
    if (err == EMSGSIZE) {
      // Larger than any request, or more descriptors than we take: not a
      // client of this protocol. Dropping it, rather than ignoring the
      // message, gives it EOF instead of a wait for a reply that never comes.
      SYSV_LOG(kWarning, "pid %d sent an oversized message; dropping it", connection.creds.pid);
    }
    CloseConnection(fd);
    return;
  }
  if (received->size == 0) {
    CloseConnection(fd);
    return;
  }
  if (!received->fds.empty()) {
    SYSV_LOG(kWarning, "pid %d sent %d descriptors; closing them", connection.creds.pid,
             received->fds.size());
  }
  const absl::Span<const uint8_t> message(buffer, received->size);
  Reply reply;
  absl::StatusOr<wire::DecodedRequest> request = wire::DecodeRequest(message);
  if (request.ok() && connection.registered) {
    Answer(fd, *request, DispatchAndRepair(connection, *request));
    ScheduleRetry();
    return;
  }
  if (!request.ok()) {
    SYSV_LOG(kWarning, "bad request from pid %d: %s", connection.creds.pid,
             request.status().ToString());
    absl::StatusOr<wire::Header> header = wire::DecodeHeader(message);
    if (header.ok()) {
      reply.message = wire::EncodeErrorReply(static_cast<wire::Op>(header->op), header->request_id,
                                             core::ErrnoOf(request.status()));
    } else if (core::ErrnoOf(header.status()) == EPROTONOSUPPORT) {
      // Our magic in another version: answer (in our version, which the
      // client's decoder then names as the mismatch) so that it learns why.
      wire::Header raw;
      std::memcpy(&raw, message.data(), sizeof(raw));
      reply.message = wire::EncodeErrorReply(static_cast<wire::Op>(raw.op), raw.request_id,
                                             EPROTONOSUPPORT);
    } else {
      // Without a header there is nothing to answer to: the peer does not
      // speak this protocol.
      CloseConnection(fd);
      return;
    }
  } else if (request->op != wire::Op::kRegister) {
    reply.message = wire::EncodeErrorReply(request->op, request->request_id, EPROTO);
  } else {
    Answer(fd, *request, DispatchAndRepair(connection, *request));
    ScheduleRetry();
    return;
  }
  Answer(fd, wire::DecodedRequest{}, std::move(reply));
}

void Server::Answer(int fd, const wire::DecodedRequest& request, Reply reply) {
  auto it = connections_.find(fd);
  if (it == connections_.end()) return;
  if (reply.busy) {
    loop_.Unwatch(fd);
    parked_.push_back(Parked{fd, request});
    return;
  }
  std::vector<int> fds = reply.borrowed_fds;
  for (const UniqueFd& owned : reply.owned_fds) fds.push_back(owned.get());
  absl::Status sent = platform::SendMessage(fd, reply.message, fds);
  if (!sent.ok()) {
    SYSV_LOG(kDebug, "reply to pid %d failed: %s", it->second->creds.pid, sent.ToString());
    CloseConnection(fd);
  }
  // The client has its answer: what its create or removal left to do (the
  // keeper's drops, the closes) now runs while it goes on.
  sealed_.AfterReply();
}

void Server::OnRetryTimer() {
  retry_timer_->Acknowledge();
  bool progress = false;
  // Parked requests first: a client waits on each. At most
  // kMaxBusyObjectsPerPass of them a pass, the oldest first, those still
  // busy going to the back: a pass costs the same whatever number of
  // connections one user parks on a lock he holds. A connection whose
  // client hung up meanwhile is closed instead (it is not being read).
  const auto batch_end = parked_.begin() + std::min<ptrdiff_t>(parked_.size(), kMaxBusyObjectsPerPass);
  std::vector<Parked> batch(std::make_move_iterator(parked_.begin()), std::make_move_iterator(batch_end));
  parked_.erase(parked_.begin(), batch_end);
  for (Parked& entry : batch) {
    auto it = connections_.find(entry.fd);
    if (it == connections_.end()) continue;
    if (PeerHungUp(entry.fd)) {
      CloseConnection(entry.fd);
      continue;
    }
    Reply reply = DispatchAndRepair(*it->second, entry.request);
    if (reply.busy) {
      parked_.push_back(std::move(entry));
      continue;
    }
    progress = true;
    Answer(entry.fd, entry.request, std::move(reply));
    if (connections_.contains(entry.fd)) {
      const int fd = entry.fd;
      if (absl::Status status = loop_.Watch(fd, [this, fd] { OnReadable(fd); }); !status.ok()) {
        SYSV_LOG(kWarning, "cannot watch a client again: %s", status.ToString());
        CloseConnection(fd);
      }
    }
  }
  // Bitwise or: both passes run.
  progress = sem_.RetryPendingExits() | progress;
  progress = msg_.RetryPendingExits() | progress;
  RepairAfterFaults();
  retry_delay_ = progress ? kFirstRetryDelay : std::min(retry_delay_ * 2, kMaxRetryDelay);
  ScheduleRetry();
}

void Server::ScheduleRetry() {
  if (!retry_timer_ || retry_timer_->armed()) return;
  if (parked_.empty() && !sem_.HasPendingExits() && !msg_.HasPendingExits()) {
    retry_delay_ = kFirstRetryDelay;
    return;
  }
  retry_timer_->Arm(retry_delay_);
}

Reply Server::Dispatch(Connection& connection, const wire::DecodedRequest& request) {
  // A process that exited before this request was sent must already be
  // reaped, as the kernel's exit-time detach is done by then.
  ReapExitedClients();
  const core::OpContext ctx{connection.creds, absl::GetCurrentTimeNanos()};
  const uint32_t id = request.request_id;
  return std::visit(
      Overloaded{
          [&](const wire::RegisterRequest& body) { return HandleRegister(connection, id, body); },
          [&](const wire::ShmGetRequest& body) { return shm_.Get(id, body, ctx); },
          [&](const wire::ShmAttachRequest& body) {
            ClientProcess* process = ProcessOf(connection);
            return shm_.Attach(id, body, ctx, process != nullptr ? &process->shm_grants : nullptr,
                               [&](int32_t index) { return clients_.MakeRoom(*process, index); });
          },
          [&](const wire::ShmCtlRequest& body) {
            return shm_.Ctl(id, body, body.cmd == core::kShmLock ? CallerMemlockLimit(connection) : 0, ctx);
          },
          [&](const wire::ShmSweepRequest& body) { return shm_.Sweep(id, body); },
          [&](const wire::SemGetRequest& body) { return sem_.Get(id, body, ctx); },
          [&](const wire::SemOpenRequest& body) {
            int32_t opened = -1;
            Reply reply = sem_.Open(id, body, ctx, &opened);
            if (opened >= 0) {
              if (ClientProcess* process = ProcessOf(connection)) process->NoteSemSet(opened);
            }
            return reply;
          },
          [&](const wire::SemCtlRequest& body) { return sem_.Ctl(id, body, ctx); },
          // Semaphores, read-only callers (issue #3).
          [&](const wire::SemWaitZeroRequest& body) {
            ClientProcess* process = ProcessOf(connection);
            if (process != nullptr) process->NoteSemSet(core::IpcIdIndex(body.id));
            return sem_.WaitZero(id, body, ctx, connection.start_time);
          },
          [&](const wire::SemWaitZeroEndRequest& body) { return sem_.WaitZeroEnd(id, body, ctx); },
          [&](const wire::MsgGetRequest& body) { return msg_.Get(id, body, ctx); },
          [&](const wire::MsgOpenRequest& body) { return msg_.Open(id, body, ctx); },
          [&](const wire::MsgCtlRequest& body) { return msg_.Ctl(id, body, ctx); },
          // Message queues, read-only and write-only callers (issue #13).
          [&](const wire::MsgSendRequest& body) { return msg_.Send(id, body, ctx); },
          [&](const wire::MsgSendPartRequest& body) { return msg_.SendPart(id, body, ctx); },
          [&](const wire::MsgReceiveRequest& body) { return msg_.Receive(id, body, ctx); },
          [&](const wire::MsgReceiveEndRequest& body) { return msg_.ReceiveEnd(id, body, ctx); },
          [&](const wire::SysctlRequest& body) { return sysctl_.Handle(id, body, connection.creds); },
      },
      request.body);
}

Reply Server::HandleRegister(Connection& connection, uint32_t request_id,
                             const wire::RegisterRequest& request) {
  Reply reply;
  wire::RegisterReply body{};
  const ClientRegistry::Registrant who{connection.creds.pid, connection.start_time, connection.process_fd.get(),
                                       connection.creds.uid};
  absl::StatusOr<ClientProcess*> process = clients_.Register(
      who, (request.flags & wire::kRegisterFreshImage) != 0,
      [this](const ClientProcess& process) { AbsorbLedger(process); },
      [this](const ClientProcess& dead) { OnClientExit(dead); });
  if (!process.ok()) {
    SYSV_LOG(kWarning, "cannot register pid %d: %s", connection.creds.pid, process.status().ToString());
    body.status.error = core::ErrnoOf(process.status());
  } else {
    connection.registered = true;
    body.shm_table_capacity = state_->shm_table().capacity();
    body.ledger_capacity = (*process)->ledger->capacity();
    body.namespace_id = state_->shm_table().header().namespace_id.load(std::memory_order_relaxed);
    body.sem_table_capacity = state_->sem_table().capacity();
    body.msg_table_capacity = state_->msg_table().capacity();
    reply.borrowed_fds = {state_->shm_table_readonly_fd(), (*process)->ledger_fd.get(),
                          state_->sem_table_readonly_fd(), state_->msg_table_readonly_fd()};
    SYSV_LOG(kDebug, "registered pid %d (uid %u)", connection.creds.pid, connection.creds.uid);
  }
  reply.message = wire::EncodeReply<wire::Op::kRegister>(request_id, body);
  return reply;
}

absl::Status Server::WatchKeeper() {
  const int fd = sealed_.keeper_fd();
  if (fd < 0) return absl::OkStatus();
  return loop_.Watch(fd, [this, fd] {
    // The keeper speaks only to answer (Puts and Drops are not awaited):
    // read the answers; only an end of stream means it is gone.
    if (sealed_.OnKeeperReadable()) return;
    loop_.Unwatch(fd);
    sealed_.OnKeeperGone();
    if (absl::Status status = WatchKeeper(); !status.ok()) {
      SYSV_LOG(kError, "cannot watch the new fd keeper: %s", status.ToString());
    }
  });
}

std::vector<std::pair<int, int>> Server::WatchedDirs() const {
  std::vector<std::pair<int, int>> dirs = {
      {kSemFiles, sem_.dir_fd()}, {kMsgFiles, msg_.dir_fd()}, {kLedgerFiles, clients_.ledger_dir_fd()}};
  // With the security driver a segment's file is the daemon's own marker (no
  // client holds a descriptor of it, and the driver's objects cannot be
  // resized): nothing there to take back.
  if (options_.driver == nullptr) dirs.push_back({kShmFiles, shm_.dir_fd()});
  return dirs;
}

void Server::OnFilesChanged() {
  bool overflowed = false;
  std::vector<platform::FileChangeWatch::Change> changes = file_changes_->Read(&overflowed);
  if (overflowed) {
    // Some changes were dropped: look at every file.
    changes.clear();
    for (const auto& [tag, dir_fd] : WatchedDirs()) {
      for (std::string& name : ListDirectory(dir_fd)) changes.push_back({tag, std::move(name)});
    }
  }
  // A client that changes one file many times between two reads costs one
  // repair.
  absl::flat_hash_set<std::pair<int, std::string>> seen;
  for (const platform::FileChangeWatch::Change& change : changes) {
    if (!seen.insert({change.tag, change.name}).second) continue;
    switch (change.tag) {
      case kShmFiles:
        shm_.TakeBack(change.name);
        break;
      case kSemFiles:
        sem_.TakeBack(change.name);
        break;
      case kMsgFiles:
        msg_.TakeBack(change.name);
        break;
      case kLedgerFiles:
        clients_.TakeBack(change.name);
        break;
    }
  }
}

void Server::ReapExitedClients() {
  for (pid_t pid : exits_.Exited()) {
    SYSV_LOG(kDebug, "client process %d exited", pid);
    clients_.Retire(pid, [this](const ClientProcess& dead) { OnClientExit(dead); });
  }
  RepairAfterFaults();
}

Reply Server::DispatchAndRepair(Connection& connection, const wire::DecodedRequest& request) {
  Reply reply = Dispatch(connection, request);
  RepairAfterFaults();
  return reply;
}

void Server::RepairAfterFaults() {
  const uint64_t faults = backend::GuardedMapping::Faults();
  if (faults == faults_seen_) return;
  faults_seen_ = faults;
  sem_.RepairFaulted();
  msg_.RepairFaulted();
}

void Server::OnClientExit(const ClientProcess& process) {
  AbsorbLedger(process);
  // The sets it opened, and those it says it used (inherited across fork).
  std::vector<int32_t> sets = process.sem_sets;
  bool every_set = process.sets_unknown;
  if (process.ledger) {
    std::optional<std::vector<int32_t>> used = process.ledger->SemSets();
    if (!used) every_set = true;
    if (used) sets.insert(sets.end(), used->begin(), used->end());
  }
  std::sort(sets.begin(), sets.end());
  sets.erase(std::unique(sets.begin(), sets.end()), sets.end());
  sem_.ProcessExited(process.pid, process.start_time, every_set ? nullptr : &sets);
  msg_.ProcessExited(process.pid);
}

void Server::AbsorbLedger(const ClientProcess& process) {
  if (process.ledger) shm_.Absorb(*process.ledger, process.shm_grants, process.pid, absl::GetCurrentTimeNanos());
}

uint64_t Server::CallerMemlockLimit(const Connection& connection) {
  absl::StatusOr<uint64_t> limit = platform::ProcessMemlockLimit(connection.creds.pid);
  // Read by pid: it was the caller's only if the caller is still running
  // (then the pid still names it). Otherwise 0, which locks nothing.
  if (!limit.ok() || platform::ProcessHandleExited(connection.process_fd.get())) return 0;
  return *limit;
}

void Server::CloseConnection(int fd) {
  auto it = connections_.find(fd);
  if (it == connections_.end()) return;
  loop_.Unwatch(fd);
  loop_.Unwatch(it->second->process_fd.get());
  if (auto open = connections_per_user_.find(it->second->creds.uid);
      open != connections_per_user_.end() && --open->second == 0) {
    connections_per_user_.erase(open);
  }
  connections_.erase(it);
  // Its parked request goes too: the number may name a new connection next.
  std::erase_if(parked_, [fd](const Parked& entry) { return entry.fd == fd; });
}

}  // namespace sysv::daemon
