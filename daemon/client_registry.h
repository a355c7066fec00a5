// The client processes the daemon knows: one record per live process that
// has registered, with its pidfd watch and its attach ledger.
//
// A process record outlives its connections (exec closes them; the new image
// registers again under the same pid) and ends only when the process dies,
// which the event loop learns from the pidfd. Records are also files (the
// ledgers), so a restarted daemon re-adopts the processes still alive and
// folds away the ones that died while it was down.
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
#include "backends/linux/region_file.h"
#include "core/shm/attach_ledger.h"
#include "core/shm/shm_registry.h"

namespace sysv::daemon {

struct ClientProcess {
  int32_t pid = 0;
  uint64_t start_time = 0;
  backend::UniqueFd pidfd;
  backend::UniqueFd ledger_fd;
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

  void NoteSemSet(int32_t index) {
    if (std::find(sem_sets.begin(), sem_sets.end(), index) == sem_sets.end()) sem_sets.push_back(index);
  }
};

class ClientRegistry : public core::ShmRegistry::Census {
 public:
  // `on_exit(pid)` is called from the event loop when a process dies; the
  // owner then calls Retire().
  using WatchFn = std::function<absl::Status(int pidfd, int32_t pid)>;
  using UnwatchFn = std::function<void(int pidfd)>;

  ClientRegistry(int ledger_dir_fd, uint32_t ledger_capacity, WatchFn watch, UnwatchFn unwatch)
      : ledger_dir_fd_(ledger_dir_fd),
        ledger_capacity_(ledger_capacity),
        watch_(std::move(watch)),
        unwatch_(std::move(unwatch)) {}

  // The record of live process `pid`, created (with a fresh ledger) when new.
  // With `fresh_image` (the process exec'd since it last registered), its
  // old attachments are gone: `on_stale_ledger` folds them, and the ledger
  // starts empty.
  absl::StatusOr<ClientProcess*> Register(
      int32_t pid, bool fresh_image,
      const std::function<void(const core::AttachLedger&, int32_t pid)>& on_stale_ledger,
      const std::function<void(const ClientProcess&)>& on_exit);

  // Forgets a dead process: `on_exit` does its exit-time work first (fold
  // its ledger, apply its semaphore undo); then the ledger file is deleted.
  void Retire(int32_t pid, const std::function<void(const ClientProcess&)>& on_exit);

  // At start: re-adopts ledgers of live processes, and for dead ones calls
  // `on_exit` and deletes them.
  void Recover(const std::function<void(const ClientProcess&)>& on_exit);

  // The record of a registered process, or nullptr.
  ClientProcess* Find(int32_t pid);

  core::ShmRegistry::CensusResult Count(int32_t index, uint32_t seq) override;

  size_t size() const { return processes_.size(); }

 private:
  absl::StatusOr<std::unique_ptr<ClientProcess>> Adopt(int32_t pid, uint64_t start_time,
                                                       bool create);

  int ledger_dir_fd_;
  uint32_t ledger_capacity_;
  WatchFn watch_;
  UnwatchFn unwatch_;
  absl::flat_hash_map<int32_t, std::unique_ptr<ClientProcess>> processes_;
};

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_CLIENT_REGISTRY_H_
