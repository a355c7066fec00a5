// The client runtime: one per process. It owns the channel to the daemon,
// the mapped object tables and attach ledger the daemon handed out, the
// descriptors of segments already permitted, and this process's attachments.
//
// Locking: `mu_` guards everything here. It is held across a daemon round
// trip (calls to the daemon are serialised per process) but never across a
// wait on another process, so fork() can always take it (see the atfork
// handlers) without waiting long.
//
// Credentials: every call compares the caller's current euid, egid and
// groups with those the channel was opened under and reopens the channel when
// they differ, so the daemon always judges the current credentials (it reads
// them from SO_PEERCRED). Fast paths check the current credentials against
// the mapped table themselves.
#ifndef SYSV_COMPAT_RUNTIME_H_
#define SYSV_COMPAT_RUNTIME_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "compat/annotated_mutex.h"
#include "compat/parked_mappings.h"
#include "backends/common/unique_fd.h"
#include "backends/platform.h"
#include "core/ipc/credentials.h"
#include "core/ipc/object_table.h"
#include "core/msg/msg_queue.h"
#include "core/protocol/codec.h"
#include "core/sem/sem_set.h"
#include "core/shm/attach_ledger.h"
#include "core/shm/shm_types.h"

namespace sysv::compat {

// A segment descriptor the daemon granted this process.
struct SegmentGrant {
  backend::UniqueFd fd;
  bool writable = false;
  uint32_t seq = 0;
  uint64_t size = 0;        // shm_segsz
  uint64_t map_length = 0;  // whole (huge) pages
  uint64_t alignment = 0;   // of the mapping's address
};

// A semaphore set this process may use: the daemon-granted region, mapped.
// Shared so that a thread sleeping in semop keeps the mapping alive even if
// another thread drops the grant. The descriptor is closed once mapped (the
// mapping keeps the file): a process may use as many sets as it can map,
// not only as many as RLIMIT_NOFILE allows.
struct SemGrant {
  platform::MappedRegion map;
  std::optional<core::SemSet> set;
  bool may_alter = false;
  uint32_t seq = 0;
};

// A message queue this process may use: the daemon-granted region, mapped
// for the largest arena (the file grows under it when msg_qbytes is
// raised). Shared for the same reason as SemGrant. Mapped read-write only
// for a process that may read and write the queue (it runs msgsnd and
// msgrcv there); read-only for a reader (the daemon serves its msgrcv, and
// it sleeps on its record's status word here); not at all for a writer
// only (the daemon serves its msgsnd): `access` (wire::kMsgAccess*).
struct MsgGrant {
  backend::UniqueFd fd;  // fstat()ed to check a grown arena
  platform::MappedRegion map;
  std::unique_ptr<core::MsgQueue> queue;  // null for a writer only
  uint32_t seq = 0;
  uint32_t access = 0;
  bool read_write() const { return access == core::wire::kMsgAccessReadWrite; }
};

// An object table the daemon handed out, mapped read-only.
struct MappedTable {
  platform::MappedRegion map;
  core::ObjectTable table;  // a view into `map`
};
absl::StatusOr<std::unique_ptr<MappedTable>> MapObjectTable(int fd, uint32_t capacity, core::IpcKind kind);

// While one lives on a thread, that thread's round trips to the daemon
// await the reply awake, runnable, never asleep (runtime.cc,
// kAwakeForReply). The calls that can block (semop, semtimedop, msgsnd,
// msgrcv) and shmat hold one from their start: a program that waits for a
// process to show state 'S' and then acts on it (signals it, removes the
// object, reads GETNCNT/GETZCNT or nattch) must not catch it asleep in a
// round trip, before it has queued itself or counted its attachment. Other
// calls sleep for their replies, which costs no CPU when many processes
// talk to the daemon at once.
class AwakeRoundTrips {
 public:
  AwakeRoundTrips();
  ~AwakeRoundTrips();
  AwakeRoundTrips(const AwakeRoundTrips&) = delete;
  AwakeRoundTrips& operator=(const AwakeRoundTrips&) = delete;
};

class Runtime {
 public:
  // The process's runtime, created on first use and never destroyed (calls
  // may come from atexit handlers and other threads during exit).
  static Runtime& Get();

  // Sends one request and returns the decoded reply; opens, registers and
  // reopens the channel as needed. Descriptors that came with the reply go
  // to `fds`.
  template <core::wire::Op kOp>
  absl::StatusOr<typename core::wire::OpTraits<kOp>::Reply> Call(
      const typename core::wire::OpTraits<kOp>::Request& request,
      std::vector<backend::UniqueFd>* fds = nullptr) ABSL_LOCKS_EXCLUDED(mu_) {
    AnnotatedMutexLock lock(&mu_);
    return CallLocked<kOp>(request, fds);
  }

  // shmctl's IPC_STAT, SHM_STAT or SHM_STAT_ANY answered from the mapped
  // shm table and this process's ledger (core/shm/shm_stat.h): an exact
  // errno, a result, or nullopt when only the daemon can answer. Never
  // registers.
  absl::StatusOr<std::optional<core::ShmCtlResult>> LocalShmStat(int32_t id, int cmd) ABSL_LOCKS_EXCLUDED(mu_);

  // shmat/shmdt on the runtime's state.
  absl::StatusOr<void*> Attach(int32_t id, uint64_t addr, int shmflg) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Detach(uint64_t addr) ABSL_LOCKS_EXCLUDED(mu_);
  // After IPC_RMID: unmaps parked mappings of segments removed or marked
  // for destruction, whose memory they would otherwise hold.
  void ReleaseRemovedParked() ABSL_LOCKS_EXCLUDED(mu_);

  // The set `id` for an operation that needs `alter` (write) access, with
  // its table record; checks in the kernel's order via `check`, which
  // returns the record or the errno. Opens the set through the daemon on
  // first use.
  absl::StatusOr<std::shared_ptr<SemGrant>> SemGrantFor(
      int32_t id, bool alter,
      const std::function<absl::StatusOr<core::ObjectRecord>(const core::ObjectTable&)>& check)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The queue `id`, after `check` (on the msg table) passes; opened through
  // the daemon on first use, and again when `needs_map` (a receive) and the
  // grant held has no mapping (it was opened by a writer only, who may
  // read now).
  absl::StatusOr<std::shared_ptr<MsgGrant>> MsgGrantFor(
      int32_t id, const std::function<absl::StatusOr<core::ObjectRecord>(const core::ObjectTable&)>& check,
      bool needs_map) ABSL_LOCKS_EXCLUDED(mu_);
  // Queue `id`'s grant `stale` maps a region the queue moved out of
  // (core::kMsgMoved): the next MsgGrantFor() opens the queue again.
  void ForgetMsgGrant(int32_t id, const MsgGrant* stale) ABSL_LOCKS_EXCLUDED(mu_);
  // The shm table as last mapped (see PublishedSemTable()).
  const core::ObjectTable* PublishedShmTable() const {
    return published_shm_table_.load(std::memory_order_acquire);
  }
  // The msg table as last mapped (see PublishedSemTable()), and MSGMAX.
  const core::ObjectTable* PublishedMsgTable() const {
    return published_msg_table_.load(std::memory_order_acquire);
  }
  uint32_t MsgMax() ABSL_LOCKS_EXCLUDED(mu_);

  // SEMOPM, as the daemon published it.
  uint32_t SemOpLimit() ABSL_LOCKS_EXCLUDED(mu_);
  // pid and start time of this process (SEM_UNDO records name it by both).
  core::SemSet::Caller SemCaller() ABSL_LOCKS_EXCLUDED(mu_);

  // Lock-free reads for the semop fast path. The sem table as last mapped
  // (nullptr before the first registration; tables are kept mapped for the
  // life of the process once published, so the pointer stays valid), and an
  // epoch that changes whenever cached grants must not be trusted any more
  // (a new namespace, a forked child).
  const core::ObjectTable* PublishedSemTable() const {
    return published_sem_table_.load(std::memory_order_acquire);
  }
  uint64_t GrantEpoch() const { return grant_epoch_.load(std::memory_order_acquire); }

  // exec support: drop every attachment from the ledger before an exec, and
  // restore them if the exec fails.
  void BeforeExec() ABSL_LOCKS_EXCLUDED(mu_);
  void AfterFailedExec() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  Runtime();

  template <core::wire::Op kOp>
  absl::StatusOr<typename core::wire::OpTraits<kOp>::Reply> CallLocked(
      const typename core::wire::OpTraits<kOp>::Request& request,
      std::vector<backend::UniqueFd>* fds) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<backend::UniqueFd> received;
    absl::StatusOr<core::wire::Bytes> reply =
        RoundTrip(kOp, &request, sizeof(request), &received);
    if (!reply.ok()) return reply.status();
    absl::StatusOr<typename core::wire::OpTraits<kOp>::Reply> decoded =
        core::wire::DecodeReply<kOp>(*reply, last_request_id_);
    if (decoded.ok() && fds != nullptr) *fds = std::move(received);
    return decoded;
  }

  // Sends a request (raw body) and receives the reply bytes, (re)connecting
  // when needed and retrying once on a channel the daemon closed.
  absl::StatusOr<core::wire::Bytes> RoundTrip(core::wire::Op op, const void* body, size_t size,
                                              std::vector<backend::UniqueFd>* fds)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status EnsureChannel() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether a forked child must register at once (the parent waiting for
  // it): it inherits attachments to count, or segment descriptors whose
  // grants it inherits only from a live parent.
  bool ChildRegistersAtFork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !attachments_.empty() || !grants_.empty();
  }
  absl::Status OpenChannel() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Register() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CloseChannel() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Gets a descriptor for segment `id` fit for `shmflg`: cached, else from
  // the daemon.
  absl::StatusOr<SegmentGrant*> GrantFor(int32_t id, int shmflg, const core::Credentials& creds)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  static void PrepareFork();
  static void ParentAfterFork();
  static void ChildAfterFork();

  AnnotatedMutex mu_;
  backend::UniqueFd channel_ ABSL_GUARDED_BY(mu_);
  core::Credentials channel_creds_ ABSL_GUARDED_BY(mu_);
  bool registered_once_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t namespace_id_ ABSL_GUARDED_BY(mu_) = 0;
  uint32_t last_request_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<core::ObjectTable> shm_table_ ABSL_GUARDED_BY(mu_);
  // Every shm table this process mapped, kept for PublishedShmTable().
  std::vector<std::unique_ptr<MappedTable>> retired_shm_tables_ ABSL_GUARDED_BY(mu_);
  std::atomic<const core::ObjectTable*> published_shm_table_{nullptr};
  std::optional<core::ObjectTable> sem_table_ ABSL_GUARDED_BY(mu_);
  // Every sem table this process mapped, kept for PublishedSemTable().
  std::vector<std::unique_ptr<MappedTable>> retired_sem_tables_ ABSL_GUARDED_BY(mu_);
  std::atomic<const core::ObjectTable*> published_sem_table_{nullptr};
  std::optional<core::ObjectTable> msg_table_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<MappedTable>> retired_msg_tables_ ABSL_GUARDED_BY(mu_);
  std::atomic<const core::ObjectTable*> published_msg_table_{nullptr};
  std::atomic<uint32_t> msg_max_{8192};
  absl::flat_hash_map<int32_t, std::shared_ptr<MsgGrant>> msg_grants_ ABSL_GUARDED_BY(mu_);
  // Grant map sizes at which stale grants are next swept (runtime.cc).
  size_t shm_sweep_at_ ABSL_GUARDED_BY(mu_) = 16;
  size_t sem_sweep_at_ ABSL_GUARDED_BY(mu_) = 16;
  size_t msg_sweep_at_ ABSL_GUARDED_BY(mu_) = 16;
  std::atomic<uint64_t> grant_epoch_{1};
  std::atomic<uint32_t> sem_op_limit_{500};
  std::atomic<uint64_t> published_start_time_{0};
  std::atomic<int32_t> published_pid_{0};  // getpid() is a system call
  absl::flat_hash_map<int32_t, std::shared_ptr<SemGrant>> sem_grants_ ABSL_GUARDED_BY(mu_);
  std::optional<platform::MappedRegion> ledger_map_ ABSL_GUARDED_BY(mu_);
  std::optional<core::AttachLedger> ledger_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int32_t, SegmentGrant> grants_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, Attachment> attachments_ ABSL_GUARDED_BY(mu_);
  // Mappings shmdt left in place for the next shmat of the same segment.
  ParkedMappings parked_ ABSL_GUARDED_BY(mu_);
  // Attachments dropped by BeforeExec, restored if the exec fails.
  std::vector<Attachment> exec_saved_ ABSL_GUARDED_BY(mu_);
  int32_t pid_ ABSL_GUARDED_BY(mu_) = 0;
  // fork handshake: the parent waits (read end) until the child has counted
  // the attachments it inherited (write end), as the kernel's fork counts
  // them before it returns. -1 when the process has no attachments.
  int fork_sync_[2] ABSL_GUARDED_BY(mu_) = {-1, -1};
};

// The current credentials of the calling process.
absl::StatusOr<core::Credentials> CallerCredentials();

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_RUNTIME_H_
