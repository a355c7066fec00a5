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
// CredentialChange objects alive (threads inside a hooked set*id call).
std::atomic<uint32_t> g_changes_in_flight{0};

// Publishes `fresh` on top of whatever is newest, so the chain stays whole
// when two threads publish at once.
void Publish(Snapshot* fresh) {
  while (!g_snapshot.compare_exchange_weak(fresh->previous, fresh, std::memory_order_acq_rel,
                                           std::memory_order_acquire)) {
  }
}

}  // namespace

void InvalidateCredentials() { g_generation.fetch_add(1, std::memory_order_acq_rel); }

// seq_cst: the count is raised before the kernel changes anything, so a
// fork that copies a count of zero copies no change in progress.
CredentialChange::CredentialChange() { g_changes_in_flight.fetch_add(1, std::memory_order_seq_cst); }
CredentialChange::~CredentialChange() {
  InvalidateCredentials();
  g_changes_in_flight.fetch_sub(1, std::memory_order_seq_cst);
}

void CarryCredentialsIntoChild(int32_t pid) {
  const bool changing = g_changes_in_flight.load(std::memory_order_seq_cst) != 0;
  // The threads that were changing them are not in the child.
  g_changes_in_flight.store(0, std::memory_order_relaxed);
  const uint64_t generation = g_generation.load(std::memory_order_acquire);
  const Snapshot* snapshot = g_snapshot.load(std::memory_order_acquire);
  if (changing || snapshot == nullptr || snapshot->generation != generation) {
    InvalidateCredentials();
    return;
  }
  auto* fresh = new Snapshot{generation, snapshot->creds, snapshot};
  fresh->creds.pid = pid;
  Publish(fresh);
}

absl::StatusOr<const core::Credentials*> CachedCredentials() {
  const uint64_t generation = g_generation.load(std::memory_order_acquire);
  const Snapshot* snapshot = g_snapshot.load(std::memory_order_acquire);
  if (snapshot != nullptr && snapshot->generation == generation) return &snapshot->creds;
  absl::StatusOr<core::Credentials> creds = platform::CurrentCredentials();
  if (!creds.ok()) return creds.status();
  auto* fresh = new Snapshot{generation, *std::move(creds), snapshot};
  Publish(fresh);
  return &fresh->creds;
}

}  // namespace sysv::compat
