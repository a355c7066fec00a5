// Exit work that found an object's lock busy (a holder running, stopped,
// or forged by a client), kept to be retried in the background by the
// server's retry timer, never in front of a request (DESIGN.md "Trust
// model", rule 5).
//
// Bounded: one record per (object, process), however often that exit is
// reported, and a pass that finds an object still busy leaves the object's
// other records for a later pass, so a pass costs one try-lock per busy
// object, not one per dead process of the user who holds or forged it.
#ifndef SYSV_DAEMON_PENDING_EXITS_H_
#define SYSV_DAEMON_PENDING_EXITS_H_

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>

#include "absl/container/btree_set.h"

namespace sysv::daemon {

// Busy objects a pass tries (one probe of a lock word each): what a pass
// costs the requests behind it, whatever one user holds or forges.
inline constexpr int kMaxBusyObjectsPerPass = 64;

class PendingExits {
 public:
  struct Item {
    int32_t index;        // the object's table slot
    uint32_t seq;         // and its sequence number: a new object there is another object
    int32_t pid;          // the dead process
    uint64_t start_time;  // and its start time (0 where the work does not need it)
    friend auto operator<=>(const Item&, const Item&) = default;
  };

  // Remembers `item` (once).
  void Add(const Item& item) { items_.insert(item); }
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }

  // One pass: `try_exit(item)` returns true when the item is done or moot
  // (its object is gone), false when the object's lock is still busy, which
  // ends the pass for that object. At most `max_objects` busy objects are
  // tried; the pass resumes after the last one next time. Returns whether
  // any item was done.
  bool Retry(const std::function<bool(const Item&)>& try_exit, int max_objects);

 private:
  absl::btree_set<Item> items_;
  // Where the next pass starts (round robin over the objects).
  int32_t next_index_ = 0;
};

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_PENDING_EXITS_H_
