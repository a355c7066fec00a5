// Mappings of files that clients can resize, made safe to touch (DESIGN.md,
// trust model rule 3: "Descriptors cannot be turned against others").
//
// The problem. The daemon maps files that it also hands to clients as
// read-write descriptors: each process's attach ledger, and the region of
// every semaphore set and message queue the client may write. A writable
// descriptor can be ftruncate()d (or fallocate()d, punched). A page of a
// MAP_SHARED mapping that lies wholly past the end of its file raises
// SIGBUS when touched: before this, any user who could connect killed the
// daemon for everyone (issue #12, section 2) by registering, truncating his
// ledger to 0 and exiting.
//
// The choice, and why (each alternative was weighed):
//   - Descriptors clients cannot resize. Linux has one way, memfd seals
//     (F_SEAL_SHRINK | F_SEAL_GROW), and it only exists for memfds, which
//     have no name: a restarted daemon could not find them again, and
//     ledgers and regions are files precisely so that it does (DESIGN.md
//     decision 2; ClientRegistry::Recover re-adopts the ledgers of live
//     processes, the stores re-open every region). A tmpfs file that is not
//     a memfd refuses seals (F_SEAL_SEAL is set at creation), which is also
//     why F_ADD_SEALS on our descriptors fails for clients. DragonFly has no
//     seals at all.
//   - A size check (fstat) before every touch. Racy on its own: the client
//     truncates between the check and the touch, and the core algorithms
//     touch regions in many places (locks, counters, lists), not through one
//     accessor that could check.
//   - A fault guard (chosen), as Wayland compositors do for wl_shm pools
//     (libwayland's wl_shm_buffer_begin_access): a SIGBUS handler that, when
//     the faulting address lies in a registered mapping, maps anonymous zero
//     memory over that whole mapping (MAP_FIXED) and returns, so that the
//     faulting instruction runs again on zeros and the daemon carries on. The
//     mapping is flagged; its owner sees faulted() and repairs the object
//     (restores the file's size, maps it again, re-validates or reformats it)
//     or fails it, for that object only. Zeros are what a client with write
//     access could have written anyway, and every region reader already
//     bounds-checks what it reads (DESIGN.md decision 6): a truncation thus
//     becomes a scribble, which the daemon already survives. The daemon
//     also checks sizes when it maps a file (cheap, and it turns the common
//     case into a repair before any fault), but the guard is what makes a
//     race harmless.
// The kernel driver (DESIGN.md, "Kernel drivers") makes files clients
// cannot resize; the guard is what holds without it.
//
// Which signal: Linux raises SIGBUS (BUS_ADRERR) for an access past the end
// of a file mapping. The handler takes SIGSEGV as well, for systems that
// report such an access that way; a fault outside every registered mapping,
// or a signal sent by a process (si_code <= 0), goes to the handler that was
// there before (a sanitizer's), or to the default action, as if the guard
// did not exist.
//
// Signal safety: the handler reads the registry and calls mmap() and
// nothing else (no allocation, no lock). The registry is a fixed set of
// chunks of slots whose words are atomics; a slot is filled before it is
// published (its end, then its start) and cleared by storing its start
// first. SIGBUS from a touch is synchronous: it arrives in the thread that
// touched, and the daemon touches mappings only on its one thread, never in
// the middle of a registration, but the order above keeps the handler right
// even if a mapping were registered by another thread. Registration and
// release are for one thread at a time (the daemon's); they are not
// reentrant from the handler, which never calls them.
#ifndef SYSV_BACKENDS_COMMON_GUARDED_MAPPING_H_
#define SYSV_BACKENDS_COMMON_GUARDED_MAPPING_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "backends/common/posix_region_file.h"

namespace sysv::backend {

// The most mappings guarded at once: the daemon keeps at most two region
// caches' worth of regions mapped (daemon/region_cache.h) and one ledger
// per client process, which its descriptor limit bounds.
inline constexpr size_t kMaxGuardedMappings = size_t{1} << 20;

class GuardedMapping {
 public:
  // Registers `region` with the fault guard (installing the handler on
  // first use) and takes it over. Results: the guarded mapping; ENOMEM when
  // kMaxGuardedMappings are guarded already; the errno of sigaction() if
  // the handler cannot be installed. An empty region is returned unguarded.
  static absl::StatusOr<GuardedMapping> Guard(MappedRegion region);

  GuardedMapping() = default;
  GuardedMapping(GuardedMapping&& other) noexcept;
  GuardedMapping& operator=(GuardedMapping&& other) noexcept;
  GuardedMapping(const GuardedMapping&) = delete;
  GuardedMapping& operator=(const GuardedMapping&) = delete;
  // Unregisters, then unmaps (the zero memory that replaced it, if it
  // faulted).
  ~GuardedMapping();

  void* data() const { return region_.data(); }
  size_t size() const { return region_.size(); }
  // Whether a touch faulted: the mapping is private zero memory now, no
  // longer the file. Its owner repairs the object or fails it.
  bool faulted() const;

  // Faults the guard has absorbed in this process so far, over every
  // mapping: a caller that saw the same number before a piece of work knows,
  // without looking at each mapping, that none of them faulted during it.
  static uint64_t Faults();

 private:
  void Release();

  MappedRegion region_;
  // 1 + the slot's number in the registry; 0: not registered.
  size_t slot_ = 0;
};

}  // namespace sysv::backend

#endif  // SYSV_BACKENDS_COMMON_GUARDED_MAPPING_H_
