// Waiter: the contract of a cross-process wait on a 32-bit word.
//
// Semaphore and message-queue algorithms in core/ block by waiting for a
// 32-bit word in a mapped region to change, and wake others by changing it.
// Each OS supplies the mechanism (Linux: FutexWaiter over process-shared
// futexes, backends/linux/futex_waiter.h; DragonFly: UmtxWaiter over
// umtx_sleep/umtx_wakeup). core/ only names the contract, here.
//
// The contract, as the signatures a waiter type W provides:
//
//   // Debugging name of the mechanism ("futex", "umtx").
//   static constexpr char kName[] = "...";
//
//   // Sleeps while *word == expected, until woken, until `deadline`, or
//   // until a signal handler runs. The comparison and the decision to sleep
//   // are atomic with respect to Wake(): a Wake() issued after a store that
//   // made *word != expected is never lost. Results:
//   //   kWoken       *word did not equal `expected` (at entry or later), or a
//   //                Wake() reached this waiter, or the wakeup was spurious.
//   //                It says nothing about the current value: reload the
//   //                word (with acquire ordering, pairing with the waker's
//   //                release store) and decide again.
//   //   kTimedOut    `deadline` passed while *word still equalled
//   //                `expected` (also returned at once if it had passed on
//   //                entry and the value was equal).
//   //   kInterrupted a signal handler ran in this thread during the wait.
//   //                Reported whether or not the handler was installed with
//   //                SA_RESTART: semop(2), msgsnd(2) and msgrcv(2) fail with
//   //                EINTR after a handler and are never restarted, so the
//   //                caller must surface EINTR, never retry the wait.
//   // Any other failure (a misaligned or unmapped word) is a bug in the
//   // caller and aborts with a message; it is not a result.
//   static WaitResult Wait(const std::atomic<uint32_t>* word,
//                          uint32_t expected, Deadline deadline);
//
//   // Wakes up to `count` threads, in any process, sleeping in Wait() on
//   // `word`. count == INT_MAX wakes all; count <= 0 wakes none. Waking
//   // nobody is not an error. Call it after the store that changes *word.
//   static void Wake(const std::atomic<uint32_t>* word, int count);
//
// Rules every implementation keeps:
//   - Process-shared. The word usually lives in a MAP_SHARED mapping of a
//     region file, mapped at different addresses in different processes; a
//     waiter keyed on the virtual address alone (FUTEX_PRIVATE_FLAG,
//     libstdc++'s std::atomic::wait) would never see the other process's
//     Wake(). Never use them here.
//   - The word is 4-byte aligned (std::atomic<uint32_t> guarantees it) and
//     must stay mapped for the whole call.
//   - Deadlines are absolute on CLOCK_MONOTONIC (see core/deadline.h); a
//     caller that loops after kWoken passes the same Deadline again.
//
// Why a concept and templates rather than virtual functions: one binary has
// exactly one waiter, fixed at build time by //backends:platform, so run-time
// dispatch buys nothing, and the hot paths (semop, msgsnd/msgrcv on a mapped
// region) then call the backend's inline syscall wrapper directly. The
// concept is checked where the algorithm is instantiated, so a waiter that
// drifts from the contract fails to compile rather than to behave, and unit
// tests can plug in a scripted fake type. The conformance suite
// (core/testing/waiter_conformance.h) checks the behaviour of every real
// waiter under its own name.
//
// Code that must be compiled once in a .cc file, without knowing the
// backend, takes a WaiterOps instead: WaiterOpsFor<FutexWaiter>() packs the
// same two functions as pointers. The indirect call costs nanoseconds beside
// the system call it leads to.
#ifndef SYSV_CORE_WAITER_H_
#define SYSV_CORE_WAITER_H_

#include <atomic>
#include <concepts>
#include <cstdint>

#include "core/deadline.h"

namespace sysv::core {

// What a Wait() returned; see the contract above for each value.
enum class WaitResult {
  kWoken,
  kTimedOut,
  kInterrupted,
};

// "woken", "timed out", "interrupted": for messages and test output.
constexpr const char* WaitResultName(WaitResult result) {
  switch (result) {
    case WaitResult::kWoken:
      return "woken";
    case WaitResult::kTimedOut:
      return "timed out";
    case WaitResult::kInterrupted:
      return "interrupted";
  }
  return "invalid";
}

// The word every waiter works on. The contract is about a 32-bit word in
// memory shared between processes; std::atomic<uint32_t> must be exactly
// that word, with no lock beside it.
static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
static_assert(alignof(std::atomic<uint32_t>) == alignof(uint32_t));
static_assert(std::atomic<uint32_t>::is_always_lock_free);

// A type that implements the contract above with static members.
template <typename W>
concept Waiter = requires(const std::atomic<uint32_t>* word, uint32_t expected,
                          Deadline deadline, int count) {
  { W::kName } -> std::convertible_to<const char*>;
  { W::Wait(word, expected, deadline) } -> std::same_as<WaitResult>;
  { W::Wake(word, count) } -> std::same_as<void>;
};

// The same contract as a table of function pointers; see the file comment.
struct WaiterOps {
  WaitResult (*wait)(const std::atomic<uint32_t>* word, uint32_t expected,
                     Deadline deadline);
  void (*wake)(const std::atomic<uint32_t>* word, int count);
  const char* name;
};

// The WaiterOps that forwards to waiter type W.
template <Waiter W>
constexpr WaiterOps WaiterOpsFor() {
  return WaiterOps{&W::Wait, &W::Wake, W::kName};
}

}  // namespace sysv::core

#endif  // SYSV_CORE_WAITER_H_
