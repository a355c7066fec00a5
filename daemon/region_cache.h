// A bounded cache of the daemon's mappings of one object kind's regions.
//
// Why: the daemon used to keep every semaphore set and message queue
// mapped. Each mapping is one entry of the process's memory map, and Linux
// refuses mmap with ENOMEM past vm.max_map_count (65530 by default). Each
// region is its own file, so no two mappings merge: with 32,000 sets and
// 32,000 queues the daemon had 64,343 entries (65,345 with 1,000 clients
// connected), and with 32,765 sets the 32,425th queue's msgget failed with
// ENOMEM (measured with //tools/bench:load_bench). Every queue also
// reserves 64 MiB of address space for its largest arena (2 TiB for
// 32,000), and every mapped page counts in the daemon's resident size
// (529 MiB at 32,000 of each kind, 154 MiB with this cache).
// The daemon needs a region only while it serves a request about that
// object, so it maps on demand and keeps at most `capacity` mappings of a
// kind, unmapping the least recently used first.
//
// Safety: the daemon runs every request on one thread, and holds a region's
// lock only inside a core call (SemSet, MsgQueue), which takes and drops it
// before returning. A mapping is evicted only from Insert(), which the
// stores call between such calls; so no evicted region's lock is ever held
// by the daemon, and a view (SemSet*, MsgQueue*) handed out stays valid
// until the store's next lookup that may map (documented on each store).
// Insert() never evicts the entry it inserts.
//
// Every mapping is guarded (backends/common/guarded_mapping.h): a client
// with a writable descriptor can cut the file short under it, and the
// daemon's touch then reads private zeros instead of dying of SIGBUS. The
// stores check faulted() when they look a mapping up, and map a faulted one
// again, repaired.
#ifndef SYSV_DAEMON_REGION_CACHE_H_
#define SYSV_DAEMON_REGION_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "backends/common/guarded_mapping.h"

namespace sysv::daemon {

// Mappings kept per kind. Two kinds (semaphore sets, message queues) at this
// many leave vm.max_map_count's default ample room for the daemon's own
// mappings and one attach ledger per client process (at most
// RLIMIT_NOFILE / 3 of them, see daemon/main.cc).
inline constexpr size_t kRegionCacheCapacity = 8192;

template <typename View>
class RegionCache {
 public:
  struct Mapping {
    backend::GuardedMapping region;
    View view;
  };

  explicit RegionCache(size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}
  RegionCache(const RegionCache&) = delete;
  RegionCache& operator=(const RegionCache&) = delete;

  // The mapping of `index`, now the most recently used; nullptr if it is
  // not mapped.
  Mapping* Find(int32_t index) {
    auto it = entries_.find(index);
    if (it == entries_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second->position);
    return &it->second->mapping;
  }

  // Keeps `mapping` as index's (replacing any), the most recently used, then
  // unmaps the least recently used others beyond the capacity.
  Mapping& Insert(int32_t index, Mapping mapping) {
    Erase(index);
    order_.push_front(index);
    auto entry = std::make_unique<Entry>(Entry{std::move(mapping), order_.begin()});
    Mapping& kept = entry->mapping;
    entries_[index] = std::move(entry);
    while (entries_.size() > capacity_) {
      const int32_t victim = order_.back();
      order_.pop_back();
      entries_.erase(victim);  // unmaps
    }
    return kept;
  }

  // Unmaps index's region, if it is mapped.
  void Erase(int32_t index) {
    auto it = entries_.find(index);
    if (it == entries_.end()) return;
    order_.erase(it->second->position);
    entries_.erase(it);
  }

  size_t size() const { return entries_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  struct Entry {
    Mapping mapping;
    std::list<int32_t>::iterator position;  // in order_
  };

  const size_t capacity_;
  absl::flat_hash_map<int32_t, std::unique_ptr<Entry>> entries_;
  std::list<int32_t> order_;  // most recently used first
};

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_REGION_CACHE_H_
