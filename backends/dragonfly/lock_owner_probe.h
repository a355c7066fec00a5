// LockOwnerProbe: who holds a region mutex, and whether that thread still
// runs, for OwnerWordMutex (core/owner_word_mutex.h), from kinfo_proc. The
// role of backends/linux/lock_owner_probe.h.
//
// DragonFly numbers threads (LWPs) per process (lwp_gettid(2): 1 for the
// first thread, counting up), so a thread is named by its pid and its LWP
// id together, and both must fit the lock word's 30-bit TID field and
// 32-bit tag:
//
//   TID field  bits  0..19  the pid (PID_MAX is 999999 < 2^20, so never 0
//                           and never the all-ones kTidNotRecoverable)
//              bits 20..29  LWP id bits 0..9
//   tag        bits  0..19  the process's start time (kp_start, in
//                           microseconds) modulo 2^20: a pid reused by a
//                           new process matches by chance only if it was
//                           forked an exact multiple of 1.048576 s later
//              bits 20..31  LWP id bits 10..21
//
// LWP ids are compared modulo 2^22: a thread of the same process numbered
// 2^22 higher (4 million thread creations later) looks like the holder, so
// a dead holder looks alive: a timeout, never two holders.
//
// Probe(owner) reads the process's LWP records (sysctl KERN_PROC_PID |
// KERN_PROC_FLAG_LWP; kinfo_sys.h):
//   - no record: kDead (no such process, or a zombie: its threads are
//     gone). But a jailed process sees no process outside its jail, so
//     there no record is kUnknown (the mutex waits; a forged word is taken
//     over only after the long TakeOverUnseen wait).
//   - records with another start time (the pid was reused): kDead.
//   - the process runs but has no LWP with that id (the thread exited;
//     lwp_exit() takes it out of the list at once): kDead.
//   - that LWP is listed: kAlive (stopped or not).
//   - the sysctl fails, or answers garbage: kUnknown.
// Unlike Linux there is no PID namespace to tell apart, and nothing hides
// another user's process from KERN_PROC_PID (security.ps_showallprocs=0
// filters only the whole-table listing).
//
// Self() is the calling thread's identity, computed once per thread (one
// sysctl for the process's start time, once per process, and
// lwp_gettid()) and cached; the cache is dropped in a forked child, whose
// pid is new.
#ifndef SYSV_BACKENDS_DRAGONFLY_LOCK_OWNER_PROBE_H_
#define SYSV_BACKENDS_DRAGONFLY_LOCK_OWNER_PROBE_H_

#include <sys/types.h>

#include <cstdint>

#include "absl/types/span.h"
#include "core/owner_word_mutex.h"

namespace sysv::dragonfly_backend {

class LockOwnerProbe {
 public:
  static constexpr int kPidBits = 20;
  static constexpr uint32_t kPidMask = (uint32_t{1} << kPidBits) - 1;
  static constexpr int kLwpLowBits = 30 - kPidBits;  // in the TID field
  static constexpr int kStartBits = 20;
  static constexpr uint32_t kStartMask = (uint32_t{1} << kStartBits) - 1;
  static constexpr int kLwpBits = kLwpLowBits + (32 - kStartBits);  // 22
  static constexpr uint32_t kLwpMask = (uint32_t{1} << kLwpBits) - 1;

  static core::LockOwner Self();
  static core::OwnerLiveness Probe(core::LockOwner owner);

  // The identity of LWP `lwp` of process `pid` that was forked at
  // `start_us` (microseconds), as Self() computes it. REQUIRES: 0 < pid <=
  // kPidMask (DragonFly's PID_MAX).
  static core::LockOwner OwnerOf(pid_t pid, int32_t lwp, uint64_t start_us);
  static pid_t PidOf(core::LockOwner owner) { return static_cast<pid_t>(owner.tid & kPidMask); }
  static uint32_t LwpOf(core::LockOwner owner) {
    return (owner.tid >> kPidBits) | ((owner.tag >> kStartBits) << kLwpLowBits);
  }

  // What the LWP records of PidOf(owner) (each KinfoProcSize() bytes,
  // `records` their concatenation; empty for no record) say about `owner`;
  // `jailed` as InJail(). Portable; Probe() is this over ReadKinfoLwps().
  static core::OwnerLiveness Judge(core::LockOwner owner, absl::Span<const uint8_t> records,
                                   size_t record_size, bool jailed);
};

static_assert(core::OwnerProbe<LockOwnerProbe>);

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_LOCK_OWNER_PROBE_H_
