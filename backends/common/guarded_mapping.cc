#include "backends/common/guarded_mapping.h"

#include <signal.h>
#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "backends/common/signal_chain.h"
#include "core/ipc/errno_status.h"

namespace sysv::backend {
namespace {

// One registered mapping. `start` is the publishing word: 0 means free or
// being filled (see the header, "Signal safety").
struct Slot {
  std::atomic<uintptr_t> start{0};
  std::atomic<uintptr_t> end{0};
  std::atomic<uint32_t> faulted{0};
};
static_assert(std::atomic<uintptr_t>::is_always_lock_free);
static_assert(std::atomic<uint32_t>::is_always_lock_free);
static_assert(std::atomic<uint64_t>::is_always_lock_free);

constexpr size_t kChunkSlots = 4096;
constexpr size_t kChunks = kMaxGuardedMappings / kChunkSlots;

// Chunks are allocated on demand and never freed, so that the handler can
// read any published one at any time.
std::atomic<Slot*> g_chunks[kChunks];
// Slots ever used: the handler looks no further.
std::atomic<size_t> g_high_water{0};
// Faults absorbed (Faults()).
std::atomic<uint64_t> g_faults{0};
// Released slots, for reuse. Touched only by Guard() and Release().
std::vector<size_t>* g_free = nullptr;

struct sigaction g_previous_bus;
struct sigaction g_previous_segv;

Slot* SlotAt(size_t index) {
  Slot* chunk = g_chunks[index / kChunkSlots].load(std::memory_order_acquire);
  return chunk == nullptr ? nullptr : &chunk[index % kChunkSlots];
}

void Chain(int sig, siginfo_t* info, void* context) {
  ChainSignal(sig == SIGBUS ? g_previous_bus : g_previous_segv, sig, info, context, &sigaction);
}

void OnFault(int sig, siginfo_t* info, void* context) {
  // si_code > 0: raised by the kernel for an access, not sent by a process.
  if (info != nullptr && info->si_code > 0) {
    const auto address = reinterpret_cast<uintptr_t>(info->si_addr);
    const size_t used = g_high_water.load(std::memory_order_acquire);
    for (size_t i = 0; i < used; ++i) {
      Slot* slot = SlotAt(i);
      if (slot == nullptr) continue;
      const uintptr_t start = slot->start.load(std::memory_order_acquire);
      if (start == 0 || address < start || address >= slot->end.load(std::memory_order_relaxed)) continue;
      const size_t length = slot->end.load(std::memory_order_relaxed) - start;
      // Private zeros over the whole mapping: the file is no longer seen
      // through it, by this touch or any later one, until it is mapped
      // again. The protection is read-write whatever the mapping's was: a
      // write to a read-only mapping is SIGSEGV, which never comes here for
      // a mapping the daemon only reads.
      void* replaced = mmap(reinterpret_cast<void*>(start), length, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
      if (replaced == MAP_FAILED) break;
      slot->faulted.store(1, std::memory_order_release);
      g_faults.fetch_add(1, std::memory_order_release);
      return;
    }
  }
  Chain(sig, info, context);
}

absl::Status InstallOnce() {
  static const int installed_errno = [] {
    g_free = new std::vector<size_t>();
    struct sigaction action {};
    action.sa_sigaction = &OnFault;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGBUS, &action, &g_previous_bus) != 0) return errno;
    if (sigaction(SIGSEGV, &action, &g_previous_segv) != 0) return errno;
    return 0;
  }();
  if (installed_errno != 0) return core::ErrnoStatus(installed_errno, "cannot install the SIGBUS guard");
  return absl::OkStatus();
}

// A free slot's number, or nullopt-like kMaxGuardedMappings when full.
size_t TakeSlot() {
  if (!g_free->empty()) {
    const size_t index = g_free->back();
    g_free->pop_back();
    return index;
  }
  const size_t index = g_high_water.load(std::memory_order_relaxed);
  if (index >= kMaxGuardedMappings) return kMaxGuardedMappings;
  std::atomic<Slot*>& chunk = g_chunks[index / kChunkSlots];
  if (chunk.load(std::memory_order_relaxed) == nullptr) {
    Slot* fresh = new (std::nothrow) Slot[kChunkSlots];
    if (fresh == nullptr) return kMaxGuardedMappings;
    chunk.store(fresh, std::memory_order_release);
  }
  g_high_water.store(index + 1, std::memory_order_release);
  return index;
}

}  // namespace

absl::StatusOr<GuardedMapping> GuardedMapping::Guard(MappedRegion region) {
  GuardedMapping guarded;
  if (region.data() == nullptr) {
    guarded.region_ = std::move(region);
    return guarded;
  }
  if (absl::Status status = InstallOnce(); !status.ok()) return status;
  const size_t index = TakeSlot();
  if (index == kMaxGuardedMappings) {
    return core::ErrnoStatus(ENOMEM, "too many guarded mappings");
  }
  Slot* slot = SlotAt(index);
  const auto start = reinterpret_cast<uintptr_t>(region.data());
  slot->faulted.store(0, std::memory_order_relaxed);
  slot->end.store(start + region.size(), std::memory_order_relaxed);
  slot->start.store(start, std::memory_order_release);  // publishes
  guarded.region_ = std::move(region);
  guarded.slot_ = index + 1;
  return guarded;
}

GuardedMapping::GuardedMapping(GuardedMapping&& other) noexcept
    : region_(std::move(other.region_)), slot_(std::exchange(other.slot_, 0)) {}

GuardedMapping& GuardedMapping::operator=(GuardedMapping&& other) noexcept {
  if (this != &other) {
    Release();
    region_ = std::move(other.region_);
    slot_ = std::exchange(other.slot_, 0);
  }
  return *this;
}

GuardedMapping::~GuardedMapping() { Release(); }

bool GuardedMapping::faulted() const {
  if (slot_ == 0) return false;
  return SlotAt(slot_ - 1)->faulted.load(std::memory_order_acquire) != 0;
}

uint64_t GuardedMapping::Faults() { return g_faults.load(std::memory_order_acquire); }

void GuardedMapping::Release() {
  if (slot_ != 0) {
    Slot* slot = SlotAt(slot_ - 1);
    slot->start.store(0, std::memory_order_release);  // unpublishes first
    slot->end.store(0, std::memory_order_relaxed);
    g_free->push_back(slot_ - 1);
    slot_ = 0;
  }
  region_ = MappedRegion();  // unmaps
}

}  // namespace sysv::backend
