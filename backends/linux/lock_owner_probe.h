// LockOwnerProbe: who holds a region mutex, and whether that thread still
// runs, for OwnerWordMutex (core/owner_word_mutex.h), from /proc.
//
// The identity a thread writes into a lock word is its TID and a 32-bit tag:
//
//   bits  0..19  the thread's start time (/proc/<tid>/stat field 22, clock
//                ticks since boot), modulo 2^20: at 100 ticks a second a
//                TID reused by a new thread matches by chance only if it
//                started an exact multiple of about 2.9 hours later.
//   bits 20..31  a hash of the thread's PID namespace (the inode of
//                /proc/self/ns/pid): TIDs only mean something inside one.
//
// Probe(owner) reads /proc/<tid>/stat:
//   - the owner's namespace differs from ours, or /proc does not show our
//     own namespace (a process that unshared its PID namespace without
//     remounting /proc): kUnknown. We cannot see that thread; the mutex
//     then treats it as alive (a timeout, never two holders).
//   - the file is there, state Z or X (a zombie: its threads are gone), or
//     a different start time (the TID was reused): kDead. Otherwise kAlive.
//   - no such file: kDead when this process sees every process in /proc
//     (it can see init's entry, so no hidepid= hides others from it). When
//     /proc may hide other users' processes, pidfd_open(tid, PIDFD_THREAD)
//     decides: ESRCH is kDead, a descriptor means a live but hidden thread
//     (kUnknown), and a kernel without PIDFD_THREAD (before 6.9) gives
//     kUnknown.
// Residual risks, for the README: clients of one daemon in different PID
// namespaces whose namespace hashes collide (1 in 4,096 per pair) could take
// a live holder in the other namespace for dead if its TID is free in
// theirs; a TID reused after exactly k * 2^20 ticks looks alive (a timeout).
//
// Self() is the calling thread's identity, computed once per thread (about
// 20 us: one /proc read) and cached; the cache is invalidated in a forked
// child, whose TID is new.
#ifndef SYSV_BACKENDS_LINUX_LOCK_OWNER_PROBE_H_
#define SYSV_BACKENDS_LINUX_LOCK_OWNER_PROBE_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "backends/linux/proc_stat.h"
#include "core/owner_word_mutex.h"

namespace sysv::linux_backend {

class LockOwnerProbe {
 public:
  static constexpr int kStartBits = 20;
  static constexpr uint32_t kStartMask = (uint32_t{1} << kStartBits) - 1;

  static core::LockOwner Self();
  static core::OwnerLiveness Probe(core::LockOwner owner);

  // The tag of a thread that started at `start_ticks` in the PID namespace
  // whose /proc/self/ns/pid has inode `pid_namespace_inode`.
  static uint32_t TagOf(uint64_t start_ticks, uint64_t pid_namespace_inode);

  // What /proc/<tid>/stat says about a thread (proc_stat.h, shared with
  // process_watch), under the name this class's tests use.
  using ThreadStat = ProcStatLine;
  static std::optional<ThreadStat> ParseStat(std::string_view stat) { return ParseProcStatLine(stat); }
};

static_assert(core::OwnerProbe<LockOwnerProbe>);

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_LOCK_OWNER_PROBE_H_
