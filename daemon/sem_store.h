// Semaphore set regions as files in the state directory: the daemon's
// implementation of core::SemRegistry::Backing. The daemon maps a set's
// region when it needs it (IPC_STAT, IPC_RMID, the exit-time undo of its
// clients, the read-only caller's requests) and keeps at most a bounded
// number mapped: see daemon/region_cache.h for why and why it is safe.
#ifndef SYSV_DAEMON_SEM_STORE_H_
#define SYSV_DAEMON_SEM_STORE_H_

#include <cstddef>
#include <cstdint>
#include <functional>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "backends/common/unique_fd.h"
#include "backends/linux/region_file.h"
#include "core/sem/sem_registry.h"
#include "core/sem/sem_set.h"
#include "daemon/region_cache.h"

namespace sysv::daemon {

class SemStore : public core::SemRegistry::Backing {
 public:
  // `mapped_capacity`: the most regions kept mapped at once.
  explicit SemStore(int sem_dir_fd, size_t mapped_capacity = kRegionCacheCapacity);

  absl::Status Create(int32_t index, uint32_t seq, int32_t nsems, int64_t ctime) override;
  void Destroy(int32_t index, uint32_t seq) override;
  Times TimesOf(int32_t index, uint32_t seq) override;
  void SetCtime(int32_t index, uint32_t seq, int64_t ctime) override;

  // Checks the regions of the live sets (daemon start: each is mapped and
  // validated once, some stay mapped), and removes region files no live set
  // names.
  void Recover(const std::function<bool(int32_t index, uint32_t seq)>& is_live);

  // A descriptor of set (index, seq)'s region for a client.
  absl::StatusOr<backend::UniqueFd> OpenForClient(int32_t index, uint32_t seq, bool writable);
  // The mapped set (mapped now if need be), or nullptr: no such live set,
  // or its region cannot be mapped (logged). The pointer is valid until the
  // next call of this store, any of which may unmap it.
  core::SemSet* Find(int32_t index, uint32_t seq);
  // Calls fn for every live set, mapping each in turn: `set` is valid
  // during its call only. fn must not create or destroy sets.
  void ForEach(const std::function<void(int32_t index, uint32_t seq, core::SemSet& set)>& fn);

  // Regions mapped now (at most the capacity).
  size_t mapped() const { return maps_.size(); }

 private:
  using Cache = RegionCache<core::SemSet>;
  // Maps and validates set (index, seq)'s region and caches the mapping.
  // `upgrade`: first bring a region of an older layout up to date (daemon
  // start only, before any client can use it).
  absl::StatusOr<Cache::Mapping*> Map(int32_t index, uint32_t seq, bool upgrade);

  int sem_dir_fd_;
  absl::flat_hash_map<int32_t, uint32_t> live_;  // index -> seq of every live set
  Cache maps_;
};

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_SEM_STORE_H_
