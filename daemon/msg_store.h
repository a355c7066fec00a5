// Message queue regions: the daemon's implementation of
// core::MsgRegistry::Backing. The daemon maps a queue's region when it
// needs it (IPC_STAT, IPC_SET, IPC_RMID, the exit-time cleanup of its
// clients' waiter records) and keeps at most a bounded number mapped: see
// daemon/region_cache.h for why and why it is safe.
//
// Where the platform has sealed regions and an fd keeper runs
// (daemon/sealed_objects.h), a queue's region is a sealed region nobody can
// resize (issue #13 item 4), made at the queue's capacity: the arena that
// msg_qbytes at creation needs, which is MSGMNB then (msgget). A non-root
// IPC_SET cannot raise msg_qbytes past MSGMNB, so only root (or a later
// sysctl raise of MSGMNB) can ask for more than the capacity; the region
// cannot grow, so the queue moves: the daemon makes a bigger sealed region
// (the next generation, "<index>.<seq>.<generation>" at the keeper),
// copies the queue into it under the queue's locks and marks the old one
// moved (core/msg/msg_region.h, "Moving"); clients that find the mark
// fetch the new region's descriptor and go on there. The old region is
// dropped at once (clients that still map it keep its memory until they
// find the mark). A daemon killed during a move finds both regions at the
// keeper: the old one wins unless it was marked moved (the copy was
// complete before the mark).
// Elsewhere (DragonFly: no memfd), and for queues made while no keeper
// could be had, regions are files that grow with msg_qbytes, with the
// take-back and repair below.
//
// Every client of a queue that may read and write it holds a read-write
// descriptor of its file and can cut it short (issue #12); a reader holds a
// read-only one, a writer only none (issue #13). The store makes the file hold the blocks its
// own record says before it maps it, and its mappings are guarded
// (backends/common/guarded_mapping.h); a queue whose file was cut short is
// repaired for that queue alone: the file gets its size back and, when the
// header left does not validate, the region is formatted again (empty, with
// the daemon's msg_qbytes and ctime). Identity, permissions and existence
// live in the object table and are untouched; the messages are lost, as a
// writer of the queue could have lost them.
#ifndef SYSV_DAEMON_MSG_STORE_H_
#define SYSV_DAEMON_MSG_STORE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "backends/common/posix_region_file.h"
#include "backends/common/unique_fd.h"
#include "core/msg/msg_queue.h"
#include "core/msg/msg_registry.h"
#include "daemon/region_cache.h"
#include "daemon/sealed_objects.h"

namespace sysv::daemon {

class MsgStore : public core::MsgRegistry::Backing {
 public:
  // `mapped_capacity`: the most regions kept mapped at once. `sealed`: the
  // sealed regions of every kind (outlives the store).
  MsgStore(int msg_dir_fd, SealedObjects* sealed, size_t mapped_capacity = kRegionCacheCapacity);

  absl::Status Create(int32_t index, uint32_t seq, uint64_t qbytes, int64_t ctime) override;
  void Destroy(int32_t index, uint32_t seq) override;
  core::MsgQueue::Stat StatOf(int32_t index, uint32_t seq) override;
  absl::Status SetQbytes(int32_t index, uint32_t seq, uint64_t qbytes, int64_t ctime) override;
  // Sums over the queues a client has had a descriptor of (ForEach's): no
  // other queue can hold a message.
  void Totals(uint64_t* messages, uint64_t* bytes) override;

  // What the object table says of a live queue: enough to make its region
  // again.
  struct Layout {
    uint64_t qbytes = 0;
    int64_t ctime = 0;
  };

  // Checks the regions of the live queues (daemon start: each is mapped and
  // validated once, some stay mapped; one cut short is repaired), and
  // removes the regions (sealed or files) no live queue names. `live(index, seq)` is the
  // queue's layout, or nullopt when no live queue is (index, seq).
  void Recover(const std::function<std::optional<Layout>(int32_t index, uint32_t seq)>& live);

  // A descriptor of queue (index, seq)'s region for a client (read-write,
  // or read-only unless `writable`), once the region is sound (mapped and
  // repaired if need be): a file cut short while nobody looked is not
  // handed on. EIDRM when it cannot be.
  absl::StatusOr<backend::UniqueFd> OpenForClient(int32_t index, uint32_t seq, bool writable);
  // The mapped queue (mapped now if need be), or nullptr: no such live
  // queue, or its region cannot be mapped (logged). The pointer is valid
  // until the next call of this store, any of which may unmap it.
  core::MsgQueue* Find(int32_t index, uint32_t seq);
  // Calls fn for every live queue that a client may have written to: one
  // this daemon gave a descriptor of (OpenForClient), or found at its start
  // (a client of the daemon before may hold one). Only a client with a
  // descriptor writes messages and waiter records, so the queues skipped
  // are empty and have no waiters; skipping them keeps a client's exit from
  // mapping every queue of the namespace. Each is mapped in turn: `queue`
  // is valid during its call only. fn must not create or destroy queues.
  void ForEach(const std::function<void(int32_t index, uint32_t seq, core::MsgQueue& queue)>& fn);

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
  int dir_fd() const { return msg_dir_fd_; }

 private:
  // What the daemon knows of a live queue, mapped or not. Heap-allocated so
  // that a queue's capacity check can point at it.
  struct Record {
    uint32_t seq = 0;
    // Arena blocks the daemon made the file hold: the daemon trusts its own
    // record, not the region's header, which clients can write. A sealed
    // region's are its capacity, for good.
    uint32_t blocks = 0;
    // A client may hold a descriptor (see ForEach).
    bool opened = false;
    // The daemon has mapped the region since the create (a queue neither
    // mapped nor opened needs no removal mark: Destroy).
    bool mapped = false;
    // Of its region (RegionName()): 0, raised by every move to a bigger
    // sealed region (Move()).
    uint32_t generation = 0;
    // What a repair formats the region with.
    Layout layout;
  };
  using Cache = RegionCache<std::unique_ptr<core::MsgQueue>>;

  static bool HoldsBytes(const void* context, uint64_t bytes);
  // Maps and opens `record`'s region (queue `index`) and caches the mapping.
  // `repair` (its mapping faulted): format the region again, whatever it
  // holds, as SemStore::Map does and for the same reason (a lock the daemon
  // held when its writes started going to private zeros). A file found
  // shorter than the record's blocks is formatted again only if its header
  // does not validate.
  absl::StatusOr<Cache::Mapping*> Map(int32_t index, const Record& record, bool repair);
  // The live record of queue (index, seq), or nullptr.
  Record* FindRecord(int32_t index, uint32_t seq);
  // Makes the record of live queue (index, seq), whose region `fd` (sealed
  // or a file) a daemon before this one made, and maps it.
  absl::Status RecoverQueue(int32_t index, uint32_t seq, uint32_t generation, int fd, const Layout& layout);
  // Removes region `name`: sealed, or a file.
  void RemoveRegion(const std::string& name);
  // IPC_SET past the capacity of queue (index, seq)'s sealed region: moves
  // it into a new sealed region (the next generation) of `blocks` arena
  // blocks, which the daemon and every client use from then on, and drops
  // the old one (see the header comment). Fails, doing nothing, when the
  // region cannot be made or the queue's locks cannot be had.
  absl::Status Move(int32_t index, Record& record, core::MsgQueue& queue, uint32_t blocks, uint64_t qbytes,
                    int64_t ctime);
  // The sealed regions of one queue the keeper gave back, by generation:
  // the one that holds the queue (the oldest not marked moved; a daemon
  // killed during a move leaves two). The others are dropped.
  std::string PickRecovered(const std::vector<std::pair<uint32_t, std::string>>& generations);

  int msg_dir_fd_;
  SealedObjects* sealed_;
  absl::flat_hash_map<int32_t, std::unique_ptr<Record>> live_;
  Cache maps_;
};

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_MSG_STORE_H_
