#include "daemon/pending_exits.h"

#include <cstdint>
#include <limits>

namespace sysv::daemon {

bool PendingExits::Retry(const std::function<bool(const Item&)>& try_exit, int max_objects) {
  bool progress = false;
  int busy_objects = 0;
  auto it = items_.lower_bound(Item{next_index_, 0, std::numeric_limits<int32_t>::min(), 0});
  if (it == items_.end()) it = items_.begin();
  // Visits each item at most once: the pass stops when it comes back to
  // where it started.
  const size_t count = items_.size();
  for (size_t visited = 0; visited < count && it != items_.end();) {
    const Item item = *it;
    if (try_exit(item)) {
      it = items_.erase(it);
      progress = true;
      ++visited;
    } else {
      // The object is busy: skip its other records (same index and seq).
      while (it != items_.end() && it->index == item.index && it->seq == item.seq) {
        ++it;
        ++visited;
      }
      if (++busy_objects == max_objects) {
        next_index_ = it == items_.end() ? 0 : it->index;
        return progress;
      }
    }
    if (it == items_.end()) it = items_.begin();
  }
  next_index_ = 0;
  return progress;
}

}  // namespace sysv::daemon
