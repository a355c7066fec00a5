#include "daemon/held_waits.h"

#include <algorithm>
#include <utility>

namespace sysv::daemon {

bool HeldWaits::EndThreadWait(int32_t pid, int32_t tid) {
  auto it = std::find_if(waits_.begin(), waits_.end(), [&](const Wait& wait) { return wait.pid == pid && wait.tid == tid; });
  if (it == waits_.end()) return true;
  if (!end_(*it)) return false;  // kept: ended on a later try
  waits_.erase(it);
  return true;
}

uint32_t HeldWaits::CountOn(uint32_t uid, int32_t index, uint32_t seq) const {
  return static_cast<uint32_t>(std::count_if(waits_.begin(), waits_.end(), [&](const Wait& wait) {
    return wait.uid == uid && wait.index == index && wait.seq == seq;
  }));
}

bool HeldWaits::MayHold(uint32_t uid, int32_t index, uint32_t seq, uint32_t share) {
  if (share == 0 || CountOn(uid, index, seq) < share) return true;
  // Threads that ended without ending their wait (the process lives on).
  std::vector<std::pair<int32_t, int32_t>> gone;
  for (const Wait& wait : waits_) {
    if (wait.uid == uid && wait.index == index && wait.seq == seq && !thread_lives_(wait.pid, wait.tid)) {
      gone.emplace_back(wait.pid, wait.tid);
    }
  }
  for (const auto& [pid, tid] : gone) EndThreadWait(pid, tid);
  return CountOn(uid, index, seq) < share;
}

void HeldWaits::Forget(int32_t pid, int32_t index, uint32_t record) {
  std::erase_if(waits_, [&](const Wait& wait) { return wait.pid == pid && wait.index == index && wait.record == record; });
}

void HeldWaits::ForgetProcess(int32_t pid) {
  std::erase_if(waits_, [&](const Wait& wait) { return wait.pid == pid; });
}

}  // namespace sysv::daemon
