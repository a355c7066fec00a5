// Segment mappings shmdt left in place, inaccessible, for the next shmat of
// the same segment to reuse. A fresh mmap + munmap per attach costs more
// than the kernel's whole shmat + shmdt (issue #14, shm/attach); two
// mprotects and one query of the kernel cost less.
//
// Rules, each the kernel's shmat/shmdt as the program can observe it:
// - A parked range is PROT_NONE: any access faults (SIGSEGV, with si_code
//   SEGV_ACCERR where the kernel's unmapped range gives SEGV_MAPERR).
// - It is reused only after the kernel confirms the range is still exactly
//   the mapping parked there (start, end, shared, no access, offset 0, the
//   segment file's device and inode): the program may have unmapped,
//   mremapped or replaced it (mmap MAP_FIXED) since, as it may with an
//   address the kernel's shmdt freed. It is unmapped only where the kernel
//   says it still is ours, so nothing the program put there is touched.
// - A read-only grant's mapping never becomes writable (the kernel would
//   refuse the mprotect anyway: the descriptor was read-only).
// - At most kMaxCount mappings and kMaxBytes bytes stay parked, least
//   recently parked out first: a parked mapping holds its segment's memory.
// Where the platform cannot query mappings (before Linux 6.11, DragonFly),
// nothing is parked.
//
// Not thread-safe: the runtime calls it under its mutex.
#ifndef SYSV_COMPAT_PARKED_MAPPINGS_H_
#define SYSV_COMPAT_PARKED_MAPPINGS_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "backends/platform.h"
#include "core/ipc/object_table.h"

namespace sysv::compat {

// One live shmat of this process.
struct Attachment {
  int32_t id = 0;
  uint64_t length = 0;  // of the mapping
  // Whether shmdt may park it (parked_mappings.h): a page-aligned mapping,
  // and whether its descriptor was writable.
  bool parkable = false;
  bool writable = false;
  // The segment file, once known (a parked mapping reused carries it).
  std::optional<platform::FileIdentity> file;
};

// Whether a mapping of segment `id` may stay parked: it lives in `table`
// under this seq and is not marked for destruction (a parked mapping holds
// the memory the kernel would free at the last detach).
bool MayStayParked(const core::ObjectTable& table, int32_t id);

class ParkedMappings {
 public:
  static constexpr size_t kMaxCount = 8;
  static constexpr uint64_t kMaxBytes = uint64_t{64} << 20;

  // One mapping shmdt may park: a whole segment mapped at `start`.
  struct Mapping {
    int32_t id = 0;
    uint64_t start = 0;
    uint64_t length = 0;
    platform::FileIdentity file;
    bool writable = false;  // mapped from a writable descriptor
  };

  bool empty() const { return entries_.empty(); }

  // shmat's side. Fills `*attachment` for a mapping of segment `id`
  // (`length` bytes, page-aligned unless `alignment` says more, from a
  // descriptor `writable` or not) at `where` (0: anywhere) with `prot`, and
  // returns a parked mapping of it, verified and re-protected, if there is
  // one; NotFound: map anew. A fixed `where` first unmaps the parked ranges
  // it overlaps (the kernel's shmdt left them free).
  absl::StatusOr<void*> Reuse(int32_t id, uint64_t length, uint64_t alignment, bool writable, uint64_t where,
                              int prot, Attachment* attachment);

  // shmdt's side: parks `attachment`, mapped at `addr`, if its segment may
  // stay parked in `table` and its file is known (else identified through
  // `fd`, the segment's descriptor, or -1); unmaps it otherwise.
  void ParkOrUnmap(uint64_t addr, const Attachment& attachment, const core::ObjectTable& table, int fd);

  // Unmaps parked mappings of segments that may not stay parked.
  void DropRemoved(const core::ObjectTable& table) {
    if (!entries_.empty()) DropIf([&](int32_t id) { return !MayStayParked(table, id); });
  }

  // Makes `mapping` inaccessible and keeps it; false if it cannot (the
  // platform cannot verify mappings, it is too large, mprotect failed):
  // the caller unmaps it then, as before.
  bool Park(const Mapping& mapping);

  // The parked mapping of segment `id` of `length` bytes, verified still in
  // place and re-protected to `prot` (none for a write without a writable
  // descriptor); nullopt if there is none. An entry that fails the check
  // is dropped (unmapped where it is still ours).
  std::optional<Mapping> Take(int32_t id, uint64_t length, int prot);

  // Unmaps every parked mapping overlapping [start, start + length): shmat
  // at an explicit address finds the range as the kernel would, free.
  void Clear(uint64_t start, uint64_t length);

  // Unmaps the parked mappings of every segment for which `gone(id)`.
  void DropIf(absl::FunctionRef<bool(int32_t id)> gone);

  // In a forked child: the entries are its own (fork copied the ranges),
  // the query's descriptor is the parent's.
  void AfterFork() { query_.Reset(); }

 private:
  void DropMatching(absl::FunctionRef<bool(const Mapping&)> drop);
  // Unmaps what is still ours of `mapping`.
  void Release(const Mapping& mapping);
  bool StillOurs(const Mapping& mapping, const platform::MappingFacts& facts, uint64_t* from, uint64_t* to) const;

  std::vector<Mapping> entries_;  // oldest first
  uint64_t bytes_ = 0;
  platform::MappingQuery query_;
};

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_PARKED_MAPPINGS_H_
