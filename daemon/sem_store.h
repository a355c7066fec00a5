// Semaphore set regions as files in the state directory: the daemon's
// implementation of core::SemRegistry::Backing. The daemon maps a set's
// region when it needs it (IPC_STAT, IPC_RMID, the exit-time undo of its
// clients, the read-only caller's requests) and keeps at most a bounded
// number mapped: see daemon/region_cache.h for why and why it is safe.
//
// Where the platform has sealed regions and an fd keeper runs
// (daemon/sealed_objects.h), a set's region is a sealed region nobody can
// resize (issue #13 item 4): an alter user's descriptor can no longer cut it
// under the other users. Elsewhere, and for sets made while no keeper
// could be had, regions are files, with the repair below.
//
// Clients that may alter a set hold read-write descriptors of its file and
// can cut it short (issue #12). The store maps a region only at the size
// its layout needs, restoring the file's size first when it is shorter, and
// its mappings are guarded (backends/common/guarded_mapping.h); a region
// whose file was cut short is repaired for that set alone: the file gets
// its size back and, when what is left does not validate, the region is
// formatted again from the daemon's own record (nsems, ctime). Identity,
// permissions and existence live in the object table and are untouched;
// the values and queues are lost, as a writer of the set could have zeroed
// them.
#ifndef SYSV_DAEMON_SEM_STORE_H_
#define SYSV_DAEMON_SEM_STORE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "backends/common/unique_fd.h"
#include "backends/platform.h"
#include "core/sem/sem_registry.h"
#include "core/sem/sem_set.h"
#include "daemon/region_cache.h"
#include "daemon/sealed_objects.h"

namespace sysv::daemon {

class SemStore : public core::SemRegistry::Backing {
 public:
  // `mapped_capacity`: the most regions kept mapped at once. `sealed`: the
  // sealed regions of every kind (outlives the store).
  SemStore(int sem_dir_fd, SealedObjects* sealed, size_t mapped_capacity = kRegionCacheCapacity);

  absl::Status Create(int32_t index, uint32_t seq, int32_t nsems, int64_t ctime) override;
  void Destroy(int32_t index, uint32_t seq) override;
  Times TimesOf(int32_t index, uint32_t seq) override;
  void SetCtime(int32_t index, uint32_t seq, int64_t ctime) override;

  // What the object table says of a live set: enough to make its region
  // again.
  struct Layout {
    int32_t nsems = 0;
    int64_t ctime = 0;
  };

  // Checks the regions of the live sets (daemon start: each is mapped and
  // validated once, some stay mapped; one cut short is repaired), and
  // removes the regions (sealed or files) no live set names. `live(index, seq)` is the
  // set's layout, or nullopt when no live set is (index, seq).
  void Recover(const std::function<std::optional<Layout>(int32_t index, uint32_t seq)>& live);

  // A descriptor of set (index, seq)'s region for a client, once the
  // region is sound (mapped and repaired if need be): a file cut short
  // while nobody looked is not handed on. EIDRM when it cannot be.
  absl::StatusOr<backend::UniqueFd> OpenForClient(int32_t index, uint32_t seq, bool writable);
  // The mapped set (mapped now if need be), or nullptr: no such live set,
  // or its region cannot be mapped (logged). The pointer is valid until the
  // next call of this store, any of which may unmap it.
  core::SemSet* Find(int32_t index, uint32_t seq);
  // Calls fn for every live set, mapping each in turn: `set` is valid
  // during its call only. fn must not create or destroy sets.
  void ForEach(const std::function<void(int32_t index, uint32_t seq, core::SemSet& set)>& fn);

  // Whether set `index`'s mapping faulted since it was mapped (its file
  // was cut short under it): what the last call read of it was zeros, and
  // nothing it wrote reached the file. Callers that hand a client a place
  // in the region (a queued wait) check this after the call.
  bool Faulted(int32_t index);

  // Maps again, repaired, every region whose mapping faulted (see
  // Map()'s `repair`), so that a lock the daemon held in the file when the
  // fault came is not left held until the object's next use. The daemon
  // calls it after any work during which the guard absorbed a fault.
  void RepairFaulted();

  // Regions mapped now (at most the capacity).
  size_t mapped() const { return maps_.size(); }

  // A client changed region file `name` through its descriptor: cut back
  // to the size the daemon's record gives (daemon/region_dir.h
  // TrimRegionFile). A file cut short is left to Map()'s repair.
  void Trim(const std::string& name);
  int dir_fd() const { return sem_dir_fd_; }

 private:
  using Cache = RegionCache<core::SemSet>;
  struct Record {
    uint32_t seq = 0;
    Layout layout;
    // Whether the daemon has mapped the set or given a client its region
    // since it was made (a set never used needs no removal mark).
    bool used = false;
  };

  // Maps and validates set `index`'s region and caches the mapping.
  // `upgrade`: first bring a region of an older layout up to date (daemon
  // start only, before any client can use it). `repair` (its mapping
  // faulted): format the region again, whatever it holds: the daemon may
  // have been inside an operation, holding the set's lock, when its writes
  // started going to private zeros, so the file's lock and lists cannot be
  // trusted. A file found shorter than the layout is formatted again only
  // if what is left does not validate (nobody was inside the daemon's
  // operation then; the cut part reads as zeros, as a scribble).
  absl::StatusOr<Cache::Mapping*> Map(int32_t index, const Record& record, bool upgrade, bool repair);
  // Removes region `name`, sealed or file (logged if it cannot be).
  void RemoveRegion(const std::string& name);

  int sem_dir_fd_;
  SealedObjects* sealed_;
  absl::flat_hash_map<int32_t, Record> live_;  // index -> every live set
  Cache maps_;
};

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_SEM_STORE_H_
