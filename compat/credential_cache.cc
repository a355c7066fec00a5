#include "compat/credential_cache.h"

#include <atomic>
#include <cstdint>

#include "backends/platform.h"

namespace sysv::compat {
namespace {

struct Snapshot {
  uint64_t generation;
  core::Credentials creds;
  // The snapshot this one replaced: every snapshot stays reachable (leak
  // checkers see no leak) and alive (readers may still hold it).
  const Snapshot* previous;
};

std::atomic<uint64_t> g_generation{1};
// Snapshots are immutable once published and never freed: a thread may
// still read one while another publishes its successor, and credential
// changes are rare enough that the few that pile up do not matter.
std::atomic<const Snapshot*> g_snapshot{nullptr};

}  // namespace

void InvalidateCredentials() { g_generation.fetch_add(1, std::memory_order_acq_rel); }

absl::StatusOr<const core::Credentials*> CachedCredentials() {
  const uint64_t generation = g_generation.load(std::memory_order_acquire);
  const Snapshot* snapshot = g_snapshot.load(std::memory_order_acquire);
  if (snapshot != nullptr && snapshot->generation == generation) return &snapshot->creds;
  absl::StatusOr<core::Credentials> creds = platform::CurrentCredentials();
  if (!creds.ok()) return creds.status();
  auto* fresh = new Snapshot{generation, *std::move(creds), snapshot};
  // Published on top of whatever is newest, so the chain stays whole when
  // two threads publish at once.
  while (!g_snapshot.compare_exchange_weak(fresh->previous, fresh, std::memory_order_acq_rel,
                                           std::memory_order_acquire)) {
  }
  return &fresh->creds;
}

}  // namespace sysv::compat
