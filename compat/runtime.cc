#include "compat/runtime.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "backends/common/environment.h"
#include "backends/common/namespace_dir.h"
#include "backends/common/namespace_layout.h"
#include "backends/common/poll_window.h"
#include "backends/platform.h"
#include "compat/credential_cache.h"
#include "compat/daemon_connection.h"
#include "compat/daemon_launcher.h"
#include "compat/segment_mapping.h"
#include "core/deadline.h"
#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_constants.h"
#include "core/ipc/ipc_id.h"
#include "core/shm/shm_attach.h"
#include "core/shm/shm_registry.h"
#include "core/shm/shm_stat.h"

namespace sysv::compat {
namespace {

namespace wire = core::wire;
using backend::UniqueFd;
using core::ErrnoOf;
using core::ErrnoStatus;

// Whether a channel opened with `b` still speaks for `a`: the daemon read
// the ids, groups and capabilities once, at connect (peer_credentials.h), so
// a change of any of them (a raw setuid, setgroups or capset included)
// needs a new channel.
bool SameIdentity(const core::Credentials& a, const core::Credentials& b) {
  return a.uid == b.uid && a.gid == b.gid && a.groups == b.groups && a.cap_ipc_owner == b.cap_ipc_owner &&
         a.cap_sys_admin == b.cap_sys_admin && a.cap_ipc_lock == b.cap_ipc_lock &&
         a.cap_sys_resource == b.cap_sys_resource && a.cap_checkpoint_restore == b.cap_checkpoint_restore;
}

// How long a reply of the daemon is awaited awake (state R) before the
// thread sleeps for it (channel.h, ReceiveMessageAwake()). A process inside
// a blocking System V call must not look asleep (state S in /proc) until it
// waits on the object itself: a program that waits for a child to show 'S'
// and then signals it, removes the object or reads GETNCNT/GETZCNT/nattch
// (LTP does) must find the child queued, as the kernel's would be. A forked
// child's first call registers it with the daemon: a few milliseconds on a
// loaded machine (a median of 4-6 ms measured here with two busy CPUs,
// the same awake or asleep). Longer means the
// daemon parked the request (a busy region lock) or is restarting: then
// the thread sleeps rather than spin.
constexpr absl::Duration kAwakeForReply = absl::Seconds(1);

// AwakeRoundTrips alive on this thread.
constinit thread_local uint8_t t_awake_round_trips = 0;  // nesting depth (at most 2); one byte keeps the TLS block small (dlopen_test)

// How long every other reply is polled for before the thread sleeps in
// recvmsg (backends/common/poll_window.h). Most of the daemon's answers take
// it a few microseconds; the wake-up from a sleep costs a VM 10-20 us
// (two processes ping-ponging on a SOCK_SEQPACKET pair: 24-31 us a round
// trip when both block, 9 us when both poll). The window shrinks while
// replies keep missing it (a daemon busy with others, a loaded machine), so
// those cost a few microseconds of polling, not the whole window.
// SYSVIPC_REPLY_POLL sets it (a duration up to kMaxReplyPollWindow, 0 for
// never); it is off on a machine with one CPU online, where the daemon
// could not run while we poll.
//
// Off by default: measured on this project's loaded 2-CPU VM (load 4-9,
// `sysvipc bench`, 3 alternating runs) a 30 us window made
// objects/absent-key slower (median 52 us against 34 us) and objects/sem
// too (217 us against 157 us). A likely reason, not verified: a unix
// socket's send wakes the daemon with a sync hint, which tends to place it
// on the sender's CPU when none is idle, where it waits for the polling
// sender's window to end. Turn it on where CPUs are idle.
constexpr absl::Duration kReplyPollWindow = absl::ZeroDuration();
constexpr absl::Duration kMaxReplyPollWindow = absl::Milliseconds(1);
constinit backend::PollWindow g_reply_window;

absl::Duration ReplyPollWindow() {
  absl::Duration window = kReplyPollWindow;
  if (const char* value = backend::OurVariable(backend::kReplyPollEnv); value != nullptr) {
    absl::Duration asked;
    // An unreadable value keeps the default: the variable only tunes.
    if (absl::ParseDuration(value, &asked) && asked >= absl::ZeroDuration()) {
      window = std::min(asked, kMaxReplyPollWindow);
    }
  }
  // The CPU count last: reading it is file I/O (sysconf reads sysfs), which
  // a process starting with the window off (the default) need not pay.
  if (window == absl::ZeroDuration() || platform::OnlineCpuCount() < 2) return absl::ZeroDuration();
  return window;
}

// The daemon's reply on `fd`: awaited awake inside an AwakeRoundTrips,
// polled for through g_reply_window otherwise.
absl::StatusOr<platform::ReceivedMessage> ReceiveReply(int fd, absl::Span<uint8_t> buffer) {
  if (t_awake_round_trips > 0) return platform::ReceiveMessageAwake(fd, buffer, wire::kMaxFds, kAwakeForReply);
  return platform::ReceiveMessagePolled(fd, buffer, wire::kMaxFds, g_reply_window);
}

bool ChannelBroken(int err) {
  return err == EPIPE || err == ECONNRESET || err == ENOTCONN || err == ECONNABORTED;
}

// Set while a forked child registers inside fork(): a failure there is
// not the program's call failing (the child just drops its grants), and
// saying so would use up the one line that a real failure later needs.
std::atomic<bool> g_quiet_reports{false};

// Says once per process why the daemon cannot be reached.
void ReportUnreachable(const absl::Status& status) {
  static std::atomic<bool> reported{false};
  if (g_quiet_reports.load(std::memory_order_relaxed)) return;
  if (!reported.exchange(true)) {
    std::fprintf(stderr, "libsysv: %.*s\n", static_cast<int>(status.message().size()),
                 status.message().data());
  }
}

// A refusal by the daemon (its answer when this process's user has used his
// share of connections or process records): an errno, with one line on
// stderr once per process saying why, since EAGAIN alone would not.
// `what` is refused; `share` names the daemon's limit.
absl::Status Refused(int error, const char* what, const char* share) {
  absl::Status status = ErrnoStatus(
      error, absl::StrFormat("sysvipcd refused %s (%s): this user has used his share of the daemon's %s", what,
                             std::strerror(error), share));
  static std::atomic<bool> reported{false};
  if (!reported.exchange(true)) {
    std::fprintf(stderr, "libsysv: %.*s\n", static_cast<int>(status.message().size()), status.message().data());
  }
  return status;
}

}  // namespace

absl::StatusOr<core::Credentials> CallerCredentials() { return platform::CurrentCredentials(); }

AwakeRoundTrips::AwakeRoundTrips() { ++t_awake_round_trips; }
AwakeRoundTrips::~AwakeRoundTrips() { --t_awake_round_trips; }

Runtime& Runtime::Get() {
  static Runtime* const runtime = [] {
    auto* r = new Runtime();
    pthread_atfork(&Runtime::PrepareFork, &Runtime::ParentAfterFork, &Runtime::ChildAfterFork);
    return r;
  }();
  return *runtime;
}

Runtime::Runtime() {
  g_reply_window.set_length(ReplyPollWindow());
  pid_ = getpid();
  published_pid_.store(pid_, std::memory_order_release);
}

absl::Status Runtime::EnsureChannel() {
  // Read anew on every call to the daemon (the cache of the fast paths does
  // not see raw-syscall changes), with our own pid rather than getpid():
  // fork handling keeps pid_ current.
  absl::StatusOr<core::Credentials> creds = platform::CurrentCredentials(pid_);
  if (!creds.ok()) return creds.status();
  if (channel_.get() >= 0 && SameIdentity(*creds, channel_creds_)) return absl::OkStatus();
  CloseChannel();
  channel_creds_ = *std::move(creds);
  return OpenChannel();
}

absl::Status Runtime::OpenChannel() {
  const backend::NamespaceDir dir = backend::ResolveNamespace();
  absl::StatusOr<UniqueFd> fd = ConnectToDaemon(dir);
  if (!fd.ok() && (ErrnoOf(fd.status()) == ECONNREFUSED || ErrnoOf(fd.status()) == ENOENT)) {
    if (!AutostartEnabled()) {
      absl::Status status = ErrnoStatus(
          ECONNREFUSED, backend::SecureExecution()
                            ? absl::StrFormat("no sysvipcd answers at %s, and a setuid, setgid or file-capability "
                                              "program never starts one",
                                              backend::SocketPath(dir.path))
                            : absl::StrFormat("no sysvipcd answers at %s and %s=0 forbids starting one",
                                              backend::SocketPath(dir.path), backend::kAutostartEnv));
      ReportUnreachable(status);
      return status;
    }
    if (absl::Status started = StartDaemon(dir); !started.ok()) {
      ReportUnreachable(started);
      return ErrnoStatus(ECONNREFUSED, started.message());
    }
    fd = ConnectToDaemon(dir);
  }
  // A namespace we must not use (its directory, or whoever answers on its
  // socket, is not trusted): for the caller it is as if no daemon answered,
  // ECONNREFUSED, the errno it already handles that way (RoundTrip retries
  // it while a daemon restarts); the reason goes to stderr, once.
  if (!fd.ok() && ErrnoOf(fd.status()) == EPERM) {
    ReportUnreachable(fd.status());
    return ErrnoStatus(ECONNREFUSED, fd.status().message());
  }
  if (!fd.ok()) return fd.status();
  channel_ = *std::move(fd);
  absl::Status registered = Register();
  if (!registered.ok()) CloseChannel();
  // A daemon of another libsysv release (one left running across an
  // upgrade): every call would fail with EPROTONOSUPPORT, so say why once.
  if (ErrnoOf(registered) == EPROTONOSUPPORT) {
    ReportUnreachable(ErrnoStatus(
        EPROTONOSUPPORT,
        absl::StrFormat("the sysvipcd serving %s speaks another protocol (%s): stop it (sysvipc daemon stop) "
                        "so that one of this release serves the namespace",
                        dir.path, registered.message())));
  }
  return registered;
}

absl::StatusOr<std::unique_ptr<MappedTable>> MapObjectTable(int fd, uint32_t capacity, core::IpcKind kind) {
  absl::StatusOr<platform::MappedRegion> map =
      platform::MappedRegion::Map(fd, core::ObjectTableSize(capacity), /*writable=*/false);
  if (!map.ok()) return map.status();
  absl::StatusOr<core::ObjectTable> table = core::ObjectTable::Open(map->data(), map->size(), kind);
  if (!table.ok()) return table.status();
  // The view points into the mapping, which moving the region keeps.
  return std::make_unique<MappedTable>(MappedTable{*std::move(map), *table});
}

absl::Status Runtime::Register() {
  const wire::RegisterRequest request{registered_once_ ? 0u : wire::kRegisterFreshImage, 0};
  if (++last_request_id_ == wire::kRefusalRequestId) ++last_request_id_;  // the refusal's, never ours
  const uint32_t request_id = last_request_id_;
  const wire::Bytes message = wire::EncodeRequest<wire::Op::kRegister>(request_id, request);
  absl::Status sent = platform::SendMessage(channel_.get(), message, {});
  // A refused connection is closed right after the daemon says why, maybe
  // before the request went out: the refusal is still there to read.
  if (!sent.ok() && !ChannelBroken(ErrnoOf(sent))) return sent;
  uint8_t buffer[wire::kMaxMessageSize];
  absl::StatusOr<platform::ReceivedMessage> received = ReceiveReply(channel_.get(), absl::MakeSpan(buffer));
  // A daemon that closed the channel with our request unread makes the
  // kernel report a reset first, then what the daemon sent (a refusal):
  // the reset is consumed by reading it, so read once more.
  if (!received.ok() && ChannelBroken(ErrnoOf(received.status()))) {
    received = ReceiveReply(channel_.get(), absl::MakeSpan(buffer));
  }
  if (!received.ok()) return sent.ok() ? received.status() : sent;
  if (received->size == 0) return sent.ok() ? ErrnoStatus(ECONNRESET, "sysvipcd closed the channel") : sent;
  const absl::Span<const uint8_t> answer = absl::MakeConstSpan(buffer, received->size);
  if (const int refusal = wire::DecodeRefusal(answer); refusal != 0) return Refused(refusal, "the connection", "connections (user_connections)");
  if (!sent.ok()) return sent;
  absl::StatusOr<wire::RegisterReply> reply = wire::DecodeReply<wire::Op::kRegister>(answer, request_id);
  if (!reply.ok()) return reply.status();
  if (reply->status.error == EAGAIN) return Refused(EAGAIN, "to register this process", "process records (user_processes)");
  if (reply->status.error != 0) {
    return ErrnoStatus(reply->status.error, "sysvipcd refused to register this process");
  }
  if (received->fds.size() != 4 || reply->shm_table_capacity > static_cast<uint32_t>(core::kIpcMni) ||
      reply->ledger_capacity > static_cast<uint32_t>(core::kIpcMni) ||
      reply->sem_table_capacity > static_cast<uint32_t>(core::kIpcMni) ||
      reply->msg_table_capacity > static_cast<uint32_t>(core::kIpcMni)) {
    return ErrnoStatus(EPROTO, "sysvipcd's registration reply is malformed");
  }
  absl::StatusOr<std::unique_ptr<MappedTable>> shm_table =
      MapObjectTable(received->fds[0].get(), reply->shm_table_capacity, core::IpcKind::kShm);
  if (!shm_table.ok()) return shm_table.status();
  // The whole layout, as address space: the file holds the entries of our
  // grants only, and grows with them (core/shm/attach_ledger.h).
  const size_t ledger_size = core::AttachLedgerSize(reply->ledger_capacity);
  absl::StatusOr<platform::MappedRegion> ledger_map =
      platform::MappedRegion::MapGrowable(received->fds[1].get(), ledger_size, /*writable=*/true);
  if (!ledger_map.ok()) return ledger_map.status();
  absl::StatusOr<core::AttachLedger> ledger =
      core::AttachLedger::Open(ledger_map->data(), ledger_map->size());
  if (!ledger.ok()) return ledger.status();
  absl::StatusOr<std::unique_ptr<MappedTable>> sem_table =
      MapObjectTable(received->fds[2].get(), reply->sem_table_capacity, core::IpcKind::kSem);
  if (!sem_table.ok()) return sem_table.status();
  absl::StatusOr<std::unique_ptr<MappedTable>> msg_table =
      MapObjectTable(received->fds[3].get(), reply->msg_table_capacity, core::IpcKind::kMsg);
  if (!msg_table.ok()) return msg_table.status();

  // The fast path reads the sem table without the lock: it is published,
  // and stays mapped for the life of the process.
  sem_table_.reset();
  sem_table_.emplace((*sem_table)->table);
  published_sem_table_.store(&(*sem_table)->table, std::memory_order_release);
  sem_op_limit_.store((*sem_table)->table.header().op_limit.load(std::memory_order_relaxed),
                      std::memory_order_relaxed);
  retired_sem_tables_.push_back(*std::move(sem_table));
  msg_table_.reset();
  msg_table_.emplace((*msg_table)->table);
  published_msg_table_.store(&(*msg_table)->table, std::memory_order_release);
  msg_max_.store((*msg_table)->table.header().op_limit.load(std::memory_order_relaxed), std::memory_order_relaxed);
  retired_msg_tables_.push_back(*std::move(msg_table));
  shm_table_.reset();
  shm_table_.emplace((*shm_table)->table);
  published_shm_table_.store(&(*shm_table)->table, std::memory_order_release);
  retired_shm_tables_.push_back(*std::move(shm_table));
  ledger_.reset();
  ledger_map_.emplace(*std::move(ledger_map));
  ledger_.emplace(*ledger);
  // A namespace created anew (its state was wiped) voids every id we knew.
  if (namespace_id_ != 0 && namespace_id_ != reply->namespace_id) {
    grants_.clear();
    sem_grants_.clear();
    msg_grants_.clear();
    grant_epoch_.fetch_add(1, std::memory_order_acq_rel);
  }
  namespace_id_ = reply->namespace_id;
  registered_once_ = true;
  return absl::OkStatus();
}

void Runtime::CloseChannel() { channel_.reset(); }

absl::StatusOr<wire::Bytes> Runtime::RoundTrip(wire::Op op, const void* body, size_t size,
                                               std::vector<UniqueFd>* fds) {
  absl::Status last = absl::OkStatus();
  // A daemon that restarted closed our channel: reconnect and resend. While
  // the new one starts, its socket may refuse us, or the killed one's socket
  // may still accept and then reset (its io_uring is torn down after it
  // dies): a process that was registered keeps trying for kRestartPatience,
  // every 10 ms, rather than fail with an errno the kernel never gives.
  constexpr absl::Duration kRestartPatience = absl::Seconds(2);
  std::optional<core::Deadline> give_up;
  for (int attempt = 0;; ++attempt) {
    if (attempt > 0) {
      if (!registered_once_) {
        if (attempt > 1) return last;
      } else {
        if (!give_up.has_value()) give_up = core::Deadline::After(kRestartPatience);
        if (give_up->HasExpired()) return last;
        if (attempt > 1) absl::SleepFor(absl::Milliseconds(10));
      }
    }
    if (absl::Status status = EnsureChannel(); !status.ok()) {
      const int err = ErrnoOf(status);
      const bool restarting = ChannelBroken(err) || err == ECONNREFUSED || err == ENOENT;
      if (attempt == 0 || !registered_once_ || !restarting) return status;
      last = status;
      continue;
    }
    if (++last_request_id_ == wire::kRefusalRequestId) ++last_request_id_;  // the refusal's, never ours
    const uint32_t request_id = last_request_id_;
    const wire::Bytes message = wire::EncodeMessage(op, request_id, body, size);
    last = platform::SendMessage(channel_.get(), message, {});
    if (!last.ok()) {
      if (!ChannelBroken(ErrnoOf(last))) return last;
      CloseChannel();
      continue;
    }
    wire::Bytes buffer(wire::kMaxMessageSize);
    absl::StatusOr<platform::ReceivedMessage> received = ReceiveReply(channel_.get(), absl::MakeSpan(buffer));
    if (!received.ok() || received->size == 0) {
      last = received.ok() ? ErrnoStatus(ECONNRESET, "sysvipcd closed the channel") : received.status();
      if (!ChannelBroken(ErrnoOf(last))) return last;
      CloseChannel();
      continue;
    }
    buffer.resize(received->size);
    *fds = std::move(received->fds);
    return buffer;
  }
}

namespace {

// Drops the grants of objects that no longer exist (their table entry is
// free or names a newer object), so that a process creating and removing
// objects one after another does not keep a descriptor and a mapping for
// each. Runs when the map has doubled since it last ran: amortised O(1) per
// grant. Threads still using a semaphore or queue grant hold their own
// reference; an attached segment keeps its mapping, not its grant.
template <typename Map, typename SeqOf>
void SweepStaleGrants(Map& grants, const core::ObjectTable& table, size_t* sweep_at, SeqOf seq_of) {
  if (grants.size() < *sweep_at) return;
  for (auto it = grants.begin(); it != grants.end();) {
    absl::StatusOr<core::ObjectRecord> record = table.Read(core::IpcIdIndex(it->first));
    const bool live = record.ok() && record->state != core::EntryState::kFree &&
                      record->perm.seq == seq_of(it->second);
    if (live) {
      ++it;
    } else {
      grants.erase(it++);
    }
  }
  *sweep_at = 2 * grants.size() + 16;
}

}  // namespace

absl::StatusOr<SegmentGrant*> Runtime::GrantFor(int32_t id, int shmflg,
                                               const core::Credentials& creds) {
  if (auto it = grants_.find(id); it != grants_.end() &&
                                  it->second.seq == core::IpcIdSeq(id) &&
                                  (it->second.writable || (shmflg & core::kShmRdonly))) {
    absl::StatusOr<core::FastAttachVerdict> verdict =
        core::CheckFastAttach(*shm_table_, id, shmflg, creds);
    if (!verdict.ok()) {
      if (ErrnoOf(verdict.status()) == EINVAL) grants_.erase(it);
      return verdict.status();
    }
    if (*verdict == core::FastAttachVerdict::kAttach) return &it->second;
  }
  std::vector<UniqueFd> fds;
  absl::StatusOr<wire::ShmAttachReply> reply =
      CallLocked<wire::Op::kShmAttach>(wire::ShmAttachRequest{id, shmflg}, &fds);
  if (!reply.ok()) return reply.status();
  if (reply->status.error != 0) {
    if (reply->status.error == EINVAL) grants_.erase(id);
    return ErrnoStatus(reply->status.error, "shmat refused");
  }
  if (fds.size() != 1) return ErrnoStatus(EPROTO, "shmat reply carries no descriptor");
  SweepStaleGrants(grants_, *shm_table_, &shm_sweep_at_, [](const SegmentGrant& g) { return g.seq; });
  SegmentGrant& grant = grants_[id];
  grant.fd = std::move(fds[0]);
  grant.writable = reply->writable != 0;
  grant.seq = core::IpcIdSeq(id);
  grant.size = reply->size;
  grant.map_length = reply->map_length;
  grant.alignment = reply->alignment;
  return &grant;
}

absl::StatusOr<std::shared_ptr<SemGrant>> Runtime::SemGrantFor(
    int32_t id, bool alter,
    const std::function<absl::StatusOr<core::ObjectRecord>(const core::ObjectTable&)>& check) {
  AnnotatedMutexLock lock(&mu_);
  if (absl::Status status = EnsureChannel(); !status.ok()) return status;
  absl::StatusOr<core::ObjectRecord> record = check(*sem_table_);
  if (!record.ok()) {
    if (core::ErrnoOf(record.status()) == EINVAL) sem_grants_.erase(id);
    return record.status();
  }
  // The daemon must know which sets this process uses, to undo and unqueue
  // it there when it dies; a forked child uses its parent's grants.
  if (ledger_) ledger_->NoteSemSet(core::IpcIdIndex(id));
  if (auto it = sem_grants_.find(id);
      it != sem_grants_.end() && it->second->seq == record->perm.seq && (it->second->may_alter || !alter)) {
    return it->second;
  }
  std::vector<UniqueFd> fds;
  absl::StatusOr<wire::SemOpenReply> reply = CallLocked<wire::Op::kSemOpen>(wire::SemOpenRequest{id, 0}, &fds);
  if (!reply.ok()) return reply.status();
  if (reply->status.error != 0) return ErrnoStatus(reply->status.error, "the daemon refused the set");
  if (fds.size() != 1 || reply->region_size == 0) return ErrnoStatus(EPROTO, "semaphore open reply is malformed");
  auto grant = std::make_shared<SemGrant>();
  grant->may_alter = reply->may_alter != 0;
  grant->seq = core::IpcIdSeq(id);
  absl::StatusOr<platform::MappedRegion> map =
      platform::MappedRegion::Map(fds[0].get(), reply->region_size, grant->may_alter);
  if (!map.ok()) return map.status();
  grant->map = *std::move(map);
  absl::StatusOr<core::SemSet> set =
      core::SemSet::Open(grant->map.data(), grant->map.size(), &platform::ClientSemPlatform());
  if (!set.ok()) return ErrnoStatus(EIDRM, set.status().message());
  grant->set.emplace(*set);
  // EIDRM only when the table says so, not the region (core/sem/sem_set.h).
  grant->set->BindToTable(published_sem_table_.load(std::memory_order_acquire), id);
  SweepStaleGrants(sem_grants_, *sem_table_, &sem_sweep_at_,
                   [](const std::shared_ptr<SemGrant>& g) { return g->seq; });
  sem_grants_[id] = grant;
  return grant;
}

namespace {

// MsgQueue's capacity check: the region file really is that long.
bool MsgFileHolds(const void* context, uint64_t bytes) {
  absl::StatusOr<uint64_t> size = platform::FileSize(static_cast<const MsgGrant*>(context)->fd.get());
  return size.ok() && *size >= bytes;
}

}  // namespace

absl::StatusOr<std::shared_ptr<MsgGrant>> Runtime::MsgGrantFor(
    int32_t id, const std::function<absl::StatusOr<core::ObjectRecord>(const core::ObjectTable&)>& check,
    bool needs_map) {
  AnnotatedMutexLock lock(&mu_);
  if (absl::Status status = EnsureChannel(); !status.ok()) return status;
  absl::StatusOr<core::ObjectRecord> record = check(*msg_table_);
  if (!record.ok()) {
    if (core::ErrnoOf(record.status()) == EINVAL) msg_grants_.erase(id);
    return record.status();
  }
  if (auto it = msg_grants_.find(id); it != msg_grants_.end() && it->second->seq == record->perm.seq &&
                                      (it->second->queue != nullptr || !needs_map)) {
    return it->second;
  }
  std::vector<UniqueFd> fds;
  absl::StatusOr<wire::MsgOpenReply> reply = CallLocked<wire::Op::kMsgOpen>(wire::MsgOpenRequest{id, 0}, &fds);
  if (!reply.ok()) return reply.status();
  if (reply->status.error != 0) return ErrnoStatus(reply->status.error, "the daemon refused the queue");
  const bool mapped = reply->access != wire::kMsgAccessWriteOnly;
  if (fds.size() != (mapped ? 1u : 0u) || reply->access > wire::kMsgAccessWriteOnly) {
    return ErrnoStatus(EPROTO, "message queue open reply is malformed");
  }
  auto grant = std::make_shared<MsgGrant>();
  grant->seq = core::IpcIdSeq(id);
  grant->access = reply->access;
  if (mapped) {
    grant->fd = std::move(fds[0]);
    absl::StatusOr<platform::MappedRegion> map = platform::MappedRegion::MapGrowable(
        grant->fd.get(), core::MsgQueue::MappingSize(), /*writable=*/grant->read_write());
    if (!map.ok()) return map.status();
    grant->map = *std::move(map);
    absl::StatusOr<std::unique_ptr<core::MsgQueue>> queue = core::MsgQueue::Open(
        grant->map.data(), &platform::ClientRegionPlatform(), {&MsgFileHolds, grant.get()});
    if (!queue.ok()) return ErrnoStatus(EIDRM, queue.status().message());
    grant->queue = *std::move(queue);
  }
  SweepStaleGrants(msg_grants_, *msg_table_, &msg_sweep_at_,
                   [](const std::shared_ptr<MsgGrant>& g) { return g->seq; });
  msg_grants_[id] = grant;
  return grant;
}

void Runtime::ForgetMsgGrant(int32_t id, const MsgGrant* stale) {
  AnnotatedMutexLock lock(&mu_);
  // Another thread may have opened the new region already.
  if (auto it = msg_grants_.find(id); it != msg_grants_.end() && it->second.get() == stale) msg_grants_.erase(it);
}

// Both limits are read from the table header at every call, not from the
// copy taken at registration: a sysctl write changes them for everyone at
// once (daemon/sysctl_service.h). The copy serves until a table is mapped.
uint32_t Runtime::MsgMax() {
  const core::ObjectTable* table = PublishedMsgTable();
  if (table == nullptr) {
    AnnotatedMutexLock lock(&mu_);
    (void)EnsureChannel();
    table = PublishedMsgTable();
  }
  return table != nullptr ? table->header().op_limit.load(std::memory_order_relaxed)
                          : msg_max_.load(std::memory_order_relaxed);
}

uint32_t Runtime::SemOpLimit() {
  const core::ObjectTable* table = PublishedSemTable();
  if (table == nullptr) {
    AnnotatedMutexLock lock(&mu_);
    (void)EnsureChannel();
    table = PublishedSemTable();
  }
  return table != nullptr ? table->header().op_limit.load(std::memory_order_relaxed)
                          : sem_op_limit_.load(std::memory_order_relaxed);
}

core::SemSet::Caller Runtime::SemCaller() {
  uint64_t start_time = published_start_time_.load(std::memory_order_acquire);
  const int32_t pid = published_pid_.load(std::memory_order_acquire);
  if (start_time == 0) {
    absl::StatusOr<uint64_t> start = platform::ProcessStartTime(pid);
    start_time = start.ok() ? *start : 1;
    published_start_time_.store(start_time, std::memory_order_release);
  }
  return core::SemSet::Caller{pid, start_time};
}

absl::StatusOr<std::optional<core::ShmCtlResult>> Runtime::LocalShmStat(int32_t id, int cmd) {
  // Cached, as on the semop and msgsnd fast paths (credential_cache.h).
  absl::StatusOr<const core::Credentials*> creds = CachedCredentials();
  if (!creds.ok()) return std::optional<core::ShmCtlResult>();
  AnnotatedMutexLock lock(&mu_);
  if (!shm_table_) return std::optional<core::ShmCtlResult>();
  // A forked child that has not registered has no ledger of its own: it is
  // then answered only for segments nobody holds.
  const core::OwnLedger own{pid_, ledger_ ? &*ledger_ : nullptr};
  return core::LocalShmStat(*shm_table_, id, cmd, **creds, own);
}

absl::StatusOr<void*> Runtime::Attach(int32_t id, uint64_t addr, int shmflg) {
  const AwakeRoundTrips awake;
  if (id < 0) return ErrnoStatus(EINVAL, "negative shmid");
  absl::StatusOr<uint64_t> where = core::ShmAttachAddress(addr, shmflg);
  if (!where.ok()) return where.status();
  // Cached, as on the semop and msgsnd fast paths (credential_cache.h):
  // reading them costs several system calls, as much as the mapping.
  absl::StatusOr<const core::Credentials*> creds = CachedCredentials();
  if (!creds.ok()) return creds.status();

  AnnotatedMutexLock lock(&mu_);
  if (shm_table_) parked_.DropRemoved(*shm_table_);
  // A registered channel opened under these credentials needs no check
  // through the kernel (EnsureChannel reads them anew): a cached grant then
  // attaches without a system call besides the mapping's.
  if (channel_.get() < 0 || !ledger_ || !SameIdentity(**creds, channel_creds_)) {
    if (absl::Status status = EnsureChannel(); !status.ok()) return status;
  }
  absl::StatusOr<SegmentGrant*> grant = GrantFor(id, shmflg, **creds);
  if (!grant.ok()) return grant.status();
  const int32_t index = core::IpcIdIndex(id);
  const uint32_t seq = (*grant)->seq;

  // See LEDGER_BARRIER_ATTACH: count the attachment, then make sure the
  // segment still exists; the daemon's destroy does the reverse.
  ledger_->CountAttach(index, seq);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  absl::StatusOr<core::ObjectRecord> record = shm_table_->Read(index);
  if (record.ok() && (record->state == core::EntryState::kFree || record->perm.seq != seq)) {
    ledger_->UndoAttach(index, seq);
    grants_.erase(id);
    return ErrnoStatus(EIDRM, "the segment was removed during shmat");
  }

  int prot = PROT_READ;
  if (!(shmflg & core::kShmRdonly)) prot |= PROT_WRITE;
  if (shmflg & core::kShmExec) prot |= PROT_EXEC;
  const uint64_t length = (*grant)->map_length;
  // A parked mapping of the segment, verified, else a new one.
  Attachment attachment;
  absl::StatusOr<void*> mapping =
      parked_.Reuse(id, length, (*grant)->alignment, (*grant)->writable, *where, prot, &attachment);
  if (!mapping.ok()) mapping = MapSegment(**grant, *where, prot, shmflg);
  if (!mapping.ok()) {
    ledger_->UndoAttach(index, seq);
    return mapping.status();
  }
  void* mapped = *mapping;
  const uint64_t start = reinterpret_cast<uint64_t>(mapped);
  // SHM_REMAP replaced whatever was there, our attachments included.
  for (auto it = attachments_.lower_bound(start); it != attachments_.end() && it->first < start + length;) {
    ledger_->RecordDetach(core::IpcIdIndex(it->second.id), core::IpcIdSeq(it->second.id),
                          absl::GetCurrentTimeNanos());
    it = attachments_.erase(it);
  }
  attachments_[start] = std::move(attachment);
  ledger_->StampAttach(index, seq, absl::GetCurrentTimeNanos());
  return mapped;
}

absl::Status Runtime::Detach(uint64_t addr) {
  if (!core::ShmDetachAddressValid(addr)) return ErrnoStatus(EINVAL, "shmaddr is not page aligned");
  AnnotatedMutexLock lock(&mu_);
  auto it = attachments_.find(addr);
  if (it == attachments_.end()) return ErrnoStatus(EINVAL, "no segment is attached at shmaddr");
  const int32_t id = it->second.id;
  if (shm_table_) {
    parked_.DropRemoved(*shm_table_);
    auto grant = grants_.find(id);
    const bool granted = grant != grants_.end() && grant->second.seq == core::IpcIdSeq(id);
    parked_.ParkOrUnmap(addr, it->second, *shm_table_, granted ? grant->second.fd.get() : -1);
  } else {
    munmap(reinterpret_cast<void*>(addr), it->second.length);
  }
  attachments_.erase(it);
  if (!ledger_) return absl::OkStatus();
  const int32_t index = core::IpcIdIndex(id);
  const uint32_t seq = core::IpcIdSeq(id);
  ledger_->RecordDetach(index, seq, absl::GetCurrentTimeNanos());
  // The last detach of a removed segment destroys it in the kernel; if this
  // was ours, let the daemon see whether it was everybody's.
  absl::StatusOr<core::ObjectRecord> record = shm_table_->Read(index);
  if (record.ok() && record->perm.seq == seq && (record->perm.mode & core::kShmDest) &&
      ledger_->Summarize(index, seq).nattch == 0) {
    (void)CallLocked<wire::Op::kShmSweep>(wire::ShmSweepRequest{id, 0}, nullptr);
  }
  return absl::OkStatus();
}

void Runtime::ReleaseRemovedParked() {
  AnnotatedMutexLock lock(&mu_);
  if (shm_table_) parked_.DropRemoved(*shm_table_);
}

void Runtime::BeforeExec() {
  AnnotatedMutexLock lock(&mu_);
  // A vfork child shares our memory but not our attachments' fate.
  if (getpid() != pid_ || !ledger_) return;
  exec_saved_.clear();
  for (const auto& [addr, attachment] : attachments_) exec_saved_.push_back(attachment);
  ledger_->DetachAll(absl::GetCurrentTimeNanos());
}

void Runtime::AfterFailedExec() {
  AnnotatedMutexLock lock(&mu_);
  if (getpid() != pid_ || !ledger_) return;
  for (const Attachment& attachment : exec_saved_) {
    ledger_->CountAttach(core::IpcIdIndex(attachment.id), core::IpcIdSeq(attachment.id));
  }
  exec_saved_.clear();
}

void Runtime::PrepareFork() {
  Runtime& r = Get();
  // Read the credentials once here if no call has yet (their system calls
  // then run once in the parent, not in every child): the child carries
  // them (ChildAfterFork), so that a client forked to make one call served
  // from the mapped tables makes no system call of libsysv's for it.
  (void)CachedCredentials();
  r.mu_.Lock();
  // The kernel's fork attaches the child's copies in the parent's name
  // (shm_atime = now, shm_lpid = the parent) before the child exists, so
  // stamp now: the child may exit, and be reaped, before fork returns here.
  if (r.ledger_) {
    const int64_t now = absl::GetCurrentTimeNanos();
    for (const auto& [addr, attachment] : r.attachments_) {
      r.ledger_->StampAttach(core::IpcIdIndex(attachment.id), core::IpcIdSeq(attachment.id), now);
    }
  }
  r.fork_sync_[0] = r.fork_sync_[1] = -1;
  if (r.ChildRegistersAtFork() && pipe2(r.fork_sync_, O_CLOEXEC) != 0) {
    r.fork_sync_[0] = r.fork_sync_[1] = -1;
  }
}

void Runtime::ParentAfterFork() {
  Runtime& r = Get();

  if (r.fork_sync_[0] >= 0) {
    const int saved = errno;
    close(r.fork_sync_[1]);
    // One byte when the child has registered; EOF if it died first.
    char byte;
    while (read(r.fork_sync_[0], &byte, 1) < 0 && errno == EINTR) {
    }
    close(r.fork_sync_[0]);
    errno = saved;
  }
  r.mu_.Unlock();
}

void Runtime::ChildAfterFork() {
  Runtime& r = Get();
  // The forking thread holds mu_ (PrepareFork) and is the only thread here.
  r.mu_.AssertHeld();
  const int saved = errno;
  r.pid_ = getpid();
  r.parked_.AfterFork();
  // A new process: its undo records are its own.
  r.published_pid_.store(r.pid_, std::memory_order_release);
  r.published_start_time_.store(0, std::memory_order_release);
  // Its grants are inherited, but it must note the sets it uses in a ledger
  // of its own: send every fast path through SemGrantFor once more.
  r.grant_epoch_.fetch_add(1, std::memory_order_acq_rel);
  // Its credentials are the parent's (fork copies them): a child whose
  // first call is served from the mapped tables reads none from the kernel.
  CarryCredentialsIntoChild(r.pid_);
  // The channel and the ledger are the parent's: a new process registers
  // anew and counts the attachments it inherited in a ledger of its own.
  // It registers now, while the parent waits, if it holds segment
  // descriptors: the daemon believes a ledger only for segments its
  // process was granted, and a child inherits its parent's grants only
  // while the parent lives to be found (daemon/client_registry.h). If it
  // cannot, it drops them (its shmat then asks the daemon).
  const bool register_now = r.ChildRegistersAtFork();
  r.CloseChannel();
  r.ledger_.reset();
  r.ledger_map_.reset();
  g_quiet_reports.store(true, std::memory_order_relaxed);
  const bool registered = register_now && r.EnsureChannel().ok();
  g_quiet_reports.store(false, std::memory_order_relaxed);
  if (registered) {
    for (const auto& [addr, attachment] : r.attachments_) {
      r.ledger_->CountAttach(core::IpcIdIndex(attachment.id), core::IpcIdSeq(attachment.id));
    }
  } else {
    r.grants_.clear();
  }
  if (r.fork_sync_[1] >= 0) {
    close(r.fork_sync_[0]);
    (void)!write(r.fork_sync_[1], "", 1);
    close(r.fork_sync_[1]);
    r.fork_sync_[0] = r.fork_sync_[1] = -1;
  }
  errno = saved;
  r.mu_.Unlock();
}

}  // namespace sysv::compat
