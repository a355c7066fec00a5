// The client processes the daemon knows: one record per live process that
// has registered, with its process_fd watch and its attach ledger.
//
// A process record outlives its connections (exec closes them; the new image
// registers again under the same pid) and ends only when the process dies,
// which the event loop learns from the process_fd. Records are also files (the
// ledgers), so a restarted daemon re-adopts the processes still alive and
// folds away the ones that died while it was down.
//
// A record is one process instance (pid and start time), and is handed only
// to a connection of that instance: a channel kept by another process after
// its connecting process died, when the pid names someone else's process
// now, gets nothing (issue #12). Each user may hold a share of the records
// (UserLimits::processes): each costs the daemon two descriptors and a
// mapping.
//
// Grants (issue #13): a record also holds the segments its process was
// granted (core/shm/shm_grants.h), and the census believes its ledger only
// for those. A process is granted a segment when the daemon hands it a
// descriptor (the server calls GrantSegment), and inherits its parent's
// grants when it registers as a forked child (not a fresh image): the
// child holds copies of the parent's descriptors. The parent is the one
// /proc names now (ppid) if its record is live and its effective uid is the
// child's: a child whose parent died meanwhile is reparented to a reaper,
// which it did not fork from, and must not inherit what another user's
// reaper holds. exec clears the grants (the runtime's descriptors are
// close-on-exec). A record re-adopted after a daemon restart recovers its
// grants from the descriptors its process holds (`recover_grants`).
#ifndef SYSV_DAEMON_CLIENT_REGISTRY_H_
#define SYSV_DAEMON_CLIENT_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>
#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "backends/common/guarded_mapping.h"
#include "backends/common/unique_fd.h"
#include "backends/platform.h"
#include "core/ipc/user_quota.h"
#include "core/shm/attach_ledger.h"
#include "core/shm/shm_grants.h"
#include "core/shm/shm_registry.h"

namespace sysv::daemon {

struct ClientProcess {
  int32_t pid = 0;
  uint64_t start_time = 0;
  // The effective uid that registered it, whose share it counts against;
  // kUncounted for a record re-adopted after a restart.
  static constexpr uint32_t kUncounted = UINT32_MAX;
  uint32_t uid = kUncounted;
  backend::UniqueFd process_fd;
  backend::UniqueFd ledger_fd;
  // Whose user_bytes carries the ledger's bytes (core/ipc/user_quota.h),
  // and how many; kUncounted: nobody's.
  uint32_t ledger_payer = kUncounted;
  uint64_t ledger_charged = 0;
  // Guarded: the process holds a read-write descriptor of its ledger and
  // may truncate it (backends/common/guarded_mapping.h). A faulted ledger
  // reads as zeros, that is as empty, for this process only.
  backend::GuardedMapping ledger_map;
  std::optional<core::AttachLedger> ledger;  // set once mapped
  // Semaphore sets it opened (their undo and queued operations need work
  // when it dies). A process re-adopted after a daemon restart may have
  // opened any: `sets_unknown`.
  std::vector<int32_t> sem_sets;
  bool sets_unknown = false;
  // The segments it holds descriptors of; its ledger counts only these.
  core::ShmGrants shm_grants;

  void NoteSemSet(int32_t index) {
    if (std::find(sem_sets.begin(), sem_sets.end(), index) == sem_sets.end()) sem_sets.push_back(index);
  }
};

class ClientRegistry : public core::ShmRegistry::Census {
 public:
  // `on_exit(pid)` is called from the event loop when a process dies; the
  // owner then calls Retire().
  using WatchFn = std::function<absl::Status(int process_fd, int32_t pid)>;
  using UnwatchFn = std::function<void(int process_fd)>;

  // `share`: records one user may hold (0: unlimited).
  ClientRegistry(int ledger_dir_fd, uint32_t ledger_capacity, uint32_t share, WatchFn watch, UnwatchFn unwatch)
      : ledger_dir_fd_(ledger_dir_fd),
        ledger_capacity_(ledger_capacity),
        share_(share),
        watch_(std::move(watch)),
        unwatch_(std::move(unwatch)) {}

  // Who registers: the process instance behind a connection (its process_fd and
  // start time, taken at accept) and the connection's effective uid.
  struct Registrant {
    int32_t pid = 0;
    uint64_t start_time = 0;
    int process_fd = -1;  // borrowed
    uint32_t uid = 0;
  };

  // The record of the live process `who`, created (with a fresh ledger) when
  // new; a new record that is not `fresh_image` is a forked child and
  // inherits its parent's grants (see the file comment). With `fresh_image`
  // (the process exec'd since it last registered), its old attachments are
  // gone: `on_stale_ledger` folds them, and the ledger and grants start
  // empty. The record of a process that changed its
  // credentials since is still its own (the kernel keeps a process's
  // attachments across setuid). Errors: ESRCH if `who` is no longer running
  // or its pid's record is that of another live process; EAGAIN if its user
  // holds his share of records; ENOMEM if its ledger's page would exceed
  // its user's user_bytes; the errnos of creating the ledger.
  absl::StatusOr<ClientProcess*> Register(
      const Registrant& who, bool fresh_image,
      const std::function<void(const ClientProcess&)>& on_stale_ledger,
      const std::function<void(const ClientProcess&)>& on_exit);

  // Forgets a dead process: `on_exit` does its exit-time work first (fold
  // its ledger, apply its semaphore undo); then the ledger file is deleted.
  void Retire(int32_t pid, const std::function<void(const ClientProcess&)>& on_exit);

  // At start: re-adopts ledgers of live processes, whose grants
  // `recover_grants` fills in, and for dead ones calls `on_exit` and deletes
  // them. A dead process's grants are unknown (empty): what its ledger says
  // is not folded.
  void Recover(const std::function<void(ClientProcess&)>& recover_grants,
               const std::function<void(const ClientProcess&)>& on_exit);

  // The record of the registered process instance (`pid`, `start_time`), or
  // nullptr.
  ClientProcess* Find(int32_t pid, uint64_t start_time);

  core::ShmRegistry::CensusResult Count(int32_t index, uint32_t seq) override;
  void Forget(int32_t index, uint32_t seq) override;
  int32_t HolderOf(int32_t index) override;

  // `fn(index)` is called whenever a process gains or loses its grant of
  // segment `index` here (a forked child inherits, an exec clears, a record
  // retires), so that the owner republishes HolderOf(index). Grants made
  // elsewhere (ShmService::Attach) are the granter's to announce.
  void OnGrantsChanged(std::function<void(int32_t index)> fn) { grants_changed_ = std::move(fn); }

  size_t size() const { return processes_.size(); }

  // Charges each live process's ledger to its user (nullptr: to nobody).
  void ChargeLedgersTo(core::UserQuota* quota) { quota_ = quota; }

  // Before `process` is granted segment `index`: its ledger holds that
  // segment's entry (core/shm/attach_ledger.h: the daemon extends the file
  // by whole pages of entries, allocated, and remaps it). OK, or ENOMEM if
  // the state file system has no room (shmat(2): "Could not allocate memory
  // for the descriptor"), or the errno of mapping it.
  absl::Status MakeRoom(ClientProcess& process, int32_t index);

  // A client changed ledger file `name` through its descriptor
  // (platform::FileChangeWatch): back to its ledger's size, no blocks past it
  // (daemon/region_dir.h TrimRegionFile; the daemon's mapping of a ledger
  // is guarded, so restoring a shorter one early only helps).
  void TakeBack(const std::string& name);
  int ledger_dir_fd() const { return ledger_dir_fd_; }

 private:
  // The record of instance (`pid`, `start_time`): its process_fd is a duplicate
  // of `process_fd` if given (>= 0), else opened and checked against the start
  // time.
  // A created ledger holds `entries` entries; an adopted one its file's.
  absl::StatusOr<std::unique_ptr<ClientProcess>> Adopt(int32_t pid, uint64_t start_time, int process_fd,
                                                       bool create, uint32_t entries);
  // The grants `who`, a forked child registering, holds from its parent.
  core::ShmGrants InheritedGrants(const Registrant& who);
  // Adds `bytes` of `process`'s ledger to its payer's usage (see
  // ChargeLedgersTo): OK, or ENOMEM over user_bytes unless `even_over`.
  absl::Status ChargeLedger(ClientProcess& process, uint64_t bytes, bool even_over = false);
  // Gives back `bytes` of its ledger's charge (a grow that failed), or all
  // of it.
  void ReleaseLedger(ClientProcess& process, std::optional<uint64_t> bytes = std::nullopt);
  // Calls grants_changed_ for every segment in `grants`.
  void AnnounceGrants(const core::ShmGrants& grants);

  int ledger_dir_fd_;
  uint32_t ledger_capacity_;
  uint32_t share_;
  WatchFn watch_;
  UnwatchFn unwatch_;
  std::function<void(int32_t index)> grants_changed_;
  core::UserQuota* quota_ = nullptr;
  absl::flat_hash_map<int32_t, std::unique_ptr<ClientProcess>> processes_;
  // Records per uid (those with kUncounted are not counted).
  absl::flat_hash_map<uint32_t, uint32_t> records_per_user_;
};

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_CLIENT_REGISTRY_H_
