#include "backends/dragonfly/lock_owner_probe.h"

#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "backends/dragonfly/dragonfly_abi.h"
#include "backends/dragonfly/kinfo_sys.h"
#include "backends/dragonfly/process_watch.h"

namespace sysv::dragonfly_backend {
namespace {

using ::sysv::core::LockOwner;
using ::sysv::core::OwnerLiveness;

static_assert(abi::kPidMax <= static_cast<int>(LockOwnerProbe::kPidMask));

// A process with more LWPs than this is judged kUnknown (a wait) rather
// than read into an ever larger buffer.
constexpr size_t kMaxLwpRecords = 4096;

struct CachedSelf {
  bool valid;
  LockOwner owner;
};
constinit thread_local CachedSelf cached_self{};

void InvalidateInForkedChild() { cached_self.valid = false; }

int32_t LwpTidOf(absl::Span<const uint8_t> record) {
  int32_t tid;
  std::memcpy(&tid, record.data() + abi::kKpLwpTidOffset, sizeof(tid));
  return tid;
}

LockOwner ComputeSelf() {
  static const bool atfork_registered = [] {
    return pthread_atfork(nullptr, nullptr, &InvalidateInForkedChild) == 0;
  }();
  const pid_t pid = getpid();
  if (pid <= 0 || static_cast<uint32_t>(pid) > LockOwnerProbe::kPidMask) {
    // Impossible on DragonFly (PID_MAX); a Linux test host whose pid_max
    // exceeds 2^20 cannot run the doubles.
    std::fprintf(stderr, "libsysv: pid %d does not fit a region lock word\n", static_cast<int>(pid));
    std::abort();
  }
  const absl::StatusOr<uint64_t> start = ProcessStartTime(pid);
  const LockOwner owner = LockOwnerProbe::OwnerOf(pid, CurrentLwpId(), start.ok() ? *start : 0);
  // Cached only if a forked child will drop the cache (otherwise the child
  // would lock under its parent's pid), and only with our real start time
  // (otherwise a later Lock tries again; the sysctl on ourselves does not
  // fail in practice).
  if (atfork_registered && start.ok()) cached_self = CachedSelf{true, owner};
  return owner;
}

// InJail(), asked only when a record is missing (a probe of a dead owner
// happens about once per death); a failure counts as jailed, the cautious
// side: a missing record is then kUnknown.
bool Jailed() { return InJail() != 0; }

}  // namespace

LockOwner LockOwnerProbe::OwnerOf(pid_t pid, int32_t lwp, uint64_t start_us) {
  const uint32_t lwp_bits = static_cast<uint32_t>(lwp) & kLwpMask;
  const uint32_t tid = (static_cast<uint32_t>(pid) & kPidMask) |
                       ((lwp_bits & ((uint32_t{1} << kLwpLowBits) - 1)) << kPidBits);
  const uint32_t tag = static_cast<uint32_t>(start_us & kStartMask) |
                       ((lwp_bits >> kLwpLowBits) << kStartBits);
  return LockOwner{tid, tag};
}

LockOwner LockOwnerProbe::Self() {
  if (cached_self.valid) [[likely]] return cached_self.owner;
  return ComputeSelf();
}

OwnerLiveness LockOwnerProbe::Judge(LockOwner owner, absl::Span<const uint8_t> records,
                                    size_t record_size, bool jailed) {
  if (records.empty()) return jailed ? OwnerLiveness::kUnknown : OwnerLiveness::kDead;
  if (record_size < abi::kKinfoLwpMinSize || records.size() % record_size != 0) {
    return OwnerLiveness::kUnknown;
  }
  const uint32_t lwp = LwpOf(owner);
  bool listed = false;
  for (size_t at = 0; at < records.size(); at += record_size) {
    const absl::Span<const uint8_t> record = records.subspan(at, record_size);
    const absl::StatusOr<KinfoProc> process = ParseKinfoProc(record);
    if (!process.ok() || process->pid != PidOf(owner)) return OwnerLiveness::kUnknown;
    // Every record carries the process's fields: a start time other than
    // the owner's means the pid now names another process.
    if ((process->start_time_us & kStartMask) != (owner.tag & kStartMask)) {
      return OwnerLiveness::kDead;
    }
    if (process->stat == abi::kSzomb) return OwnerLiveness::kDead;
    const int32_t tid = LwpTidOf(record);
    if (tid > 0 && (static_cast<uint32_t>(tid) & kLwpMask) == lwp) listed = true;
  }
  return listed ? OwnerLiveness::kAlive : OwnerLiveness::kDead;
}

OwnerLiveness LockOwnerProbe::Probe(LockOwner owner) {
  const pid_t pid = PidOf(owner);
  if (pid <= 0) return OwnerLiveness::kUnknown;  // not a word Self() writes
  const int saved = errno;
  const size_t record_size = KinfoProcSize();
  std::vector<uint8_t> records;
  OwnerLiveness liveness = OwnerLiveness::kUnknown;
  // Sized for a few threads first; a process that has more answers ENOMEM
  // and is read again into a buffer twice as large.
  for (size_t count = 16; count <= kMaxLwpRecords; count *= 2) {
    records.resize(count * record_size);
    size_t length = records.size();
    if (ReadKinfoLwps(pid, records.data(), &length) == 0) {
      liveness = Judge(owner, absl::MakeConstSpan(records.data(), length), record_size,
                       length == 0 && Jailed());
      break;
    }
    if (errno != ENOMEM) break;
  }
  errno = saved;
  return liveness;
}

}  // namespace sysv::dragonfly_backend
