// OwnerWordMutex: a robust process-shared mutex whose shared state is one
// word naming its owner, and nothing else.
//
// Why not glibc's robust mutex (what the Linux backend used before)
//
// glibc links every robust mutex a thread holds into that thread's robust
// list, and the links live in the mutex: absolute pointers into the
// HOLDER's address space, stored in the shared region while it holds the
// lock, which its unlock then writes through. A client with write access to
// a region (DESIGN.md decision 6) could rewrite them while another process
// held the lock and turn that process's unlock into a write of its choice at
// an address of its choice, the daemon's included. No check outside glibc
// closes the window between our check and glibc's use. The kernel's robust
// list cannot be shared with a second, pointer-free list either: it has one
// head per thread, and glibc owns it.
//
// So this mutex does not ask the kernel to record ownership. The word says
// who holds the lock, precisely enough that a waiter can ask the operating
// system whether that thread still exists (the OwnerProbe), and a dead
// owner's lock is taken over by the one waiter whose compare-and-swap from
// the probed word wins. Nothing in shared memory is ever used as an address.
//
// The lock word: 64 bits at offset 0, changed only by atomic operations.
//
//   bits  0..29  TID of the holding thread; 0 when free. kTidNotRecoverable
//                (all ones, above any real TID) marks a mutex whose repair
//                was abandoned: every Lock then gives kCorrupt until Init.
//   bit  30      kInconsistent: the holder took the lock over from a dead
//                owner and has not called MarkConsistent yet (the kernel's
//                FUTEX_OWNER_DIED plays this part for glibc). A holder that
//                dies in turn leaves it set, so the next taker is told again.
//   bit  31      kWaiters: a thread may sleep on the word; Unlock wakes one.
//   bits 32..63  the holder's tag (LockOwner::tag): which thread the TID
//                belonged to when it locked, so that a TID reused by a new
//                thread is not taken for the holder.
//
// Sleepers wait on the low 32 bits (the futex word on Linux; the address of
// the 64-bit word on a little-endian machine). A change of owner always
// changes the low half, so a sleeper that compared only the low half never
// misses a release. A magic word at kMagicOffset tells a formatted mutex
// from zeros or garbage.
//
// Owner death. A waiter sleeps at most `probe interval` at a time (1 ms,
// doubling to 64 ms while the same owner holds on). When a sleep ends with
// the same owner still in the word, it asks OwnerProbe::Probe whether that
// owner (TID and tag) is alive:
//   kAlive    keep waiting (a stopped or slow holder is a holder).
//   kUnknown  the same: the probe cannot tell (another PID namespace, /proc
//             hidden), and only a definite death may hand the lock on. The
//             cost of a wrong "alive" is a wait, for that object's users;
//             the cost of a wrong "dead" would be two holders. Only a waiter
//             that has seen the same unseen holder for a very long time
//             takes it over (TakeOverUnseen), since a forged word would
//             otherwise stop the object's users for good.
//   kDead     compare-and-swap the probed word to our own identity with
//             kInconsistent and kWaiters set; the winner gets
//             kAcquiredOwnerDied, the losers re-read the word.
// A dead owner is therefore found within about a probe interval of its
// death, not at once as with the kernel's robust list: milliseconds, paid
// only by a process that was killed inside a critical section. A waiter
// whose deadline passes first reports kTimedOut, as for a live holder.
//
// Scribbled storage (the contract's "untrusted storage" rule). A bad magic
// is kCorrupt. Any word value is one of: free (TID 0, taken, with
// kInconsistent honoured), not recoverable (kCorrupt), our own identity
// without our record of holding it (nobody else can hold a lock under our
// TID and tag: taken over as owner-died), or someone else's identity
// (probed like any holder: a garbage TID is normally dead, a live one times
// out). Unlock exchanges the word whatever it holds and wakes every sleeper
// if the old value was not ours, so a scribble that dropped kWaiters costs a
// sleeper at most one probe interval. Nothing can make Lock wait past its
// deadline or any call crash.
//
// Memory ordering: the CAS that acquires is an acquire, the exchange in
// Unlock a release. A dead holder's stores are visible to the taker: the
// probe observes the death through the kernel (after the holder's last
// instruction), and the taker's CAS is an acquire after the probe.
//
// Thread identity and fork. OwnerProbe::Self() is the calling thread's
// identity; the probe recomputes it in a child after fork(). The private
// record of held mutexes (thread-local, never in shared memory) is kept with
// the TID it belongs to, so a forked child, whose TID differs, starts with
// an empty record: it never holds its parent's locks.
//
// Shared with glibc's design: no private futexes, nothing keyed on the
// virtual address, a relock by the holder and an unlock by a non-holder
// abort (caller bugs, known from the private record, never from the word).
#ifndef SYSV_CORE_OWNER_WORD_MUTEX_H_
#define SYSV_CORE_OWNER_WORD_MUTEX_H_

#include <algorithm>
#include <atomic>
#include <climits>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/deadline.h"
#include "core/shared_mutex.h"
#include "core/waiter.h"

namespace sysv::core {

// Who holds a lock: a thread, by TID, and a tag that tells this thread from
// a later one with the same TID (on Linux: its start time and PID
// namespace, see backends/linux/lock_owner_probe.h). tid is in
// [1, OwnerWord::kTidMask).
struct LockOwner {
  uint32_t tid = 0;
  uint32_t tag = 0;
  friend bool operator==(const LockOwner&, const LockOwner&) = default;
};

enum class OwnerLiveness { kAlive, kDead, kUnknown };

// What the platform supplies: the calling thread's identity (cheap: called
// on every Lock) and whether a recorded owner still runs (called only by a
// waiter that has slept a probe interval; may read /proc).
template <typename P>
concept OwnerProbe = requires(LockOwner owner) {
  { P::Self() } -> std::same_as<LockOwner>;
  { P::Probe(owner) } -> std::same_as<OwnerLiveness>;
};

// The lock word's encoding; see the file comment.
struct OwnerWord {
  static constexpr uint64_t kTidMask = 0x3fff'ffff;
  static constexpr uint64_t kInconsistent = uint64_t{1} << 30;
  static constexpr uint64_t kWaiters = uint64_t{1} << 31;
  static constexpr uint64_t kTidNotRecoverable = kTidMask;

  static constexpr uint64_t Of(LockOwner owner) {
    return (uint64_t{owner.tag} << 32) | (owner.tid & kTidMask);
  }
  static constexpr uint32_t Tid(uint64_t word) {
    return static_cast<uint32_t>(word & kTidMask);
  }
  static constexpr LockOwner Owner(uint64_t word) {
    return LockOwner{Tid(word), static_cast<uint32_t>(word >> 32)};
  }
  // The 32 bits sleepers compare: TID and flags.
  static constexpr uint32_t Low(uint64_t word) {
    return static_cast<uint32_t>(word);
  }
};

template <Waiter W, OwnerProbe P>
class OwnerWordMutex {
 public:
  static constexpr char kName[] = "owner_word";
  static constexpr size_t kStorageSize = kSharedMutexReservedSize;
  static constexpr size_t kStorageAlign = 8;
  static constexpr size_t kMagicOffset = 8;
  static constexpr uint32_t kMagic = 0x4f57'4d31;  // "OWM1"
  static constexpr int kMaxHeldPerThread = 8;

  // The first sleep before probing the owner, and the longest.
  static constexpr int64_t kFirstProbeNanos = 1'000'000;
  static constexpr int64_t kMaxProbeNanos = 64'000'000;

  static void Init(void* storage) {
    CheckAligned(storage);
    std::memset(storage, 0, kStorageSize);
    // Release: a process that sees the magic sees a free word.
    __atomic_store_n(MagicOf(storage), kMagic, __ATOMIC_RELEASE);
  }

  static LockResult Lock(void* storage, Deadline deadline) {
    CheckAligned(storage);
    const LockOwner self = SelfChecked(storage);
    HeldRecord& record = Record(self.tid);
    if (record.Find(storage) >= 0) Die(storage, "Lock of a mutex this thread holds");
    if (record.count == kMaxHeldPerThread) Die(storage, "this thread holds too many mutexes");
    if (__atomic_load_n(MagicOf(storage), __ATOMIC_ACQUIRE) != kMagic) {
      return LockResult::kCorrupt;
    }
    uint64_t expected = 0;
    const uint64_t mine = OwnerWord::Of(self);
    if (__atomic_compare_exchange_n(WordOf(storage), &expected, mine, false,
                                    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
      record.Push(storage, /*owner_died=*/false);
      return LockResult::kAcquired;
    }
    const LockResult result = LockSlow(storage, self, deadline);
    if (HoldsLock(result)) {
      record.Push(storage, result == LockResult::kAcquiredOwnerDied);
    }
    return result;
  }

  // A try-lock for a caller that must never wait (the daemon, which serves
  // every user from one thread): a free lock is taken as by Lock with a
  // passed deadline; a held one's owner is probed at once, and a dead
  // owner's lock is taken over (kAcquiredOwnerDied) then and there, where
  // Lock would probe only after sleeping a probe interval. A live or
  // unknown owner gives kTimedOut. The probe (a /proc read on Linux) is paid
  // only when the lock is held.
  static LockResult TryLockOrTakeOver(void* storage) {
    const LockResult first = Lock(storage, Deadline::FromMonotonicNanos(0));
    if (first != LockResult::kTimedOut) return first;
    const LockOwner self = SelfChecked(storage);
    const uint64_t seen = __atomic_load_n(WordOf(storage), __ATOMIC_RELAXED);
    const uint32_t tid = OwnerWord::Tid(seen);
    const uint64_t mine = OwnerWord::Of(self);
    // Free, unrecoverable or ours by now: Lock decides those.
    if (tid == 0 || tid == OwnerWord::kTidNotRecoverable ||
        (seen & ~(OwnerWord::kWaiters | OwnerWord::kInconsistent)) == mine) {
      return Lock(storage, Deadline::FromMonotonicNanos(0));
    }
    if (P::Probe(OwnerWord::Owner(seen)) != OwnerLiveness::kDead) return LockResult::kTimedOut;
    if (!Replace(storage, seen, mine | OwnerWord::kInconsistent | OwnerWord::kWaiters)) {
      return LockResult::kTimedOut;  // changed meanwhile: busy, try again later
    }
    Record(self.tid).Push(storage, /*owner_died=*/true);
    return LockResult::kAcquiredOwnerDied;
  }

  // The holder's identity in the word (flags dropped), 0 when free: what a
  // waiter compares over time before TakeOverUnseen.
  static uint64_t Holder(const void* storage) {
    const uint64_t seen = __atomic_load_n(WordOf(const_cast<void*>(storage)), __ATOMIC_RELAXED);
    return OwnerWord::Tid(seen) == 0 ? 0 : seen & ~(OwnerWord::kWaiters | OwnerWord::kInconsistent);
  }

  // Takes the lock over from `holder` if it still holds it and the probe
  // cannot see it (kUnknown: another PID namespace, /proc hidden, or a word
  // a writer forged to look like one). A waiter calls this only after the
  // same unseen holder has kept the lock far longer than any critical
  // section lasts (RegionPlatform::kUnseenHolderLease): the price of a wrong
  // guess is two holders of that one object, once; the price of never
  // guessing was a forged word stopping the object's users for good. A
  // holder seen alive (stopped, slow) is never taken over. Returns
  // kAcquiredOwnerDied or kTimedOut.
  static LockResult TakeOverUnseen(void* storage, uint64_t holder) {
    const uint64_t seen = __atomic_load_n(WordOf(storage), __ATOMIC_RELAXED);
    const uint32_t tid = OwnerWord::Tid(seen);
    if (tid == 0 || tid == OwnerWord::kTidNotRecoverable ||
        (seen & ~(OwnerWord::kWaiters | OwnerWord::kInconsistent)) != holder) {
      return LockResult::kTimedOut;
    }
    if (P::Probe(OwnerWord::Owner(seen)) != OwnerLiveness::kUnknown) return LockResult::kTimedOut;
    const LockOwner self = SelfChecked(storage);
    if (!Replace(storage, seen, OwnerWord::Of(self) | OwnerWord::kInconsistent | OwnerWord::kWaiters)) {
      return LockResult::kTimedOut;
    }
    Record(self.tid).Push(storage, /*owner_died=*/true);
    return LockResult::kAcquiredOwnerDied;
  }

  static void Unlock(void* storage) {
    CheckAligned(storage);
    const LockOwner self = SelfChecked(storage);
    HeldRecord& record = Record(self.tid);
    const int i = record.Find(storage);
    if (i < 0) Die(storage, "Unlock of a mutex this thread does not hold");
    const bool abandoned = record.held[i].owner_died;
    record.Remove(i);
    // An unrepaired owner death poisons the mutex, as the contract says.
    const uint64_t next = abandoned ? OwnerWord::kTidNotRecoverable : 0;
    const uint64_t old = __atomic_exchange_n(WordOf(storage), next, __ATOMIC_RELEASE);
    const bool ours = (old & ~OwnerWord::kWaiters) == OwnerWord::Of(self);
    if (abandoned || !ours) {
      // Everyone must see kCorrupt; or the word was scribbled while we held
      // it and kWaiters may have been lost: wake every sleeper.
      W::Wake(LowWordOf(storage), INT_MAX);
    } else if ((old & OwnerWord::kWaiters) != 0) {
      W::Wake(LowWordOf(storage), 1);
    }
  }

  static void MarkConsistent(void* storage) {
    CheckAligned(storage);
    HeldRecord& record = Record(SelfChecked(storage).tid);
    const int i = record.Find(storage);
    if (i < 0) Die(storage, "MarkConsistent of a mutex this thread does not hold");
    if (!record.held[i].owner_died) Die(storage, "MarkConsistent without kAcquiredOwnerDied");
    record.held[i].owner_died = false;
    __atomic_fetch_and(WordOf(storage), ~OwnerWord::kInconsistent, __ATOMIC_RELAXED);
  }

 private:
  // This thread's mutexes, in lock order; see "Thread identity and fork".
  struct HeldRecord {
    struct Entry {
      const void* storage;
      bool owner_died;  // acquired so, MarkConsistent not yet called
    };
    uint32_t tid;
    int count;
    Entry held[kMaxHeldPerThread];

    int Find(const void* storage) const {
      for (int i = count - 1; i >= 0; --i) {
        if (held[i].storage == storage) return i;
      }
      return -1;
    }
    void Push(const void* storage, bool owner_died) { held[count++] = Entry{storage, owner_died}; }
    void Remove(int i) {
      for (int j = i + 1; j < count; ++j) held[j - 1] = held[j];
      --count;
    }
  };

  static HeldRecord& Record(uint32_t tid) {
    HeldRecord& record = record_;
    if (record.tid != tid) {  // first use in this thread, or a forked child
      record.tid = tid;
      record.count = 0;
    }
    return record;
  }

  // Compare-and-swap from exactly `seen` to `desired`; true if it won.
  static bool Replace(void* storage, uint64_t seen, uint64_t desired) {
    return __atomic_compare_exchange_n(WordOf(storage), &seen, desired, false,
                                       __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
  }

  // The contended path: see "Owner death" in the file comment.
  static LockResult LockSlow(void* storage, LockOwner self, Deadline deadline) {
    const uint64_t mine = OwnerWord::Of(self);
    // After a sleep, others may still sleep: keep kWaiters set when we take
    // the lock, so our Unlock wakes the next one (glibc's "lock with 2").
    uint64_t waiters = 0;
    uint64_t probed_owner = 0;  // the owner the interval below belongs to
    int64_t interval = kFirstProbeNanos;
    bool probe_due = false;
    for (;;) {
      const uint64_t seen = __atomic_load_n(WordOf(storage), __ATOMIC_RELAXED);
      const uint32_t tid = OwnerWord::Tid(seen);
      if (tid == OwnerWord::kTidNotRecoverable) return LockResult::kCorrupt;
      if (tid == 0) {
        const bool died = (seen & OwnerWord::kInconsistent) != 0;
        const uint64_t take = mine | waiters | (seen & OwnerWord::kWaiters) |
                              (died ? OwnerWord::kInconsistent : 0);
        if (Replace(storage, seen, take)) {
          return died ? LockResult::kAcquiredOwnerDied : LockResult::kAcquired;
        }
        continue;
      }
      const uint64_t owner = seen & ~(OwnerWord::kWaiters | OwnerWord::kInconsistent);
      if (owner == mine) {
        // Our identity, yet our record says we do not hold it: a scribble
        // (no other thread can lock under our TID and tag). Nobody holds it.
        if (Replace(storage, seen, mine | OwnerWord::kInconsistent | OwnerWord::kWaiters)) {
          return LockResult::kAcquiredOwnerDied;
        }
        continue;
      }
      if (owner != probed_owner) {  // a new holder: start its clock afresh
        probed_owner = owner;
        interval = kFirstProbeNanos;
        probe_due = false;
      }
      if (probe_due) {
        probe_due = false;
        if (P::Probe(OwnerWord::Owner(seen)) == OwnerLiveness::kDead) {
          if (Replace(storage, seen, mine | OwnerWord::kInconsistent | OwnerWord::kWaiters)) {
            return LockResult::kAcquiredOwnerDied;
          }
          continue;
        }
      }
      const int64_t now = Deadline::NowNanos();
      if (now >= deadline.monotonic_nanos()) return LockResult::kTimedOut;
      if ((seen & OwnerWord::kWaiters) == 0) {
        uint64_t unchanged = seen;
        if (!__atomic_compare_exchange_n(WordOf(storage), &unchanged, seen | OwnerWord::kWaiters,
                                         false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
          continue;
        }
      }
      const int64_t wake_at = std::min(deadline.monotonic_nanos(), now + interval);
      const WaitResult slept = W::Wait(LowWordOf(storage), OwnerWord::Low(seen | OwnerWord::kWaiters),
                                       Deadline::FromMonotonicNanos(wake_at));
      waiters = OwnerWord::kWaiters;
      // A signal handler does not end Lock (the contract); only a sleep that
      // lasted its whole interval makes the owner suspect.
      if (slept == WaitResult::kTimedOut && wake_at < deadline.monotonic_nanos()) {
        probe_due = true;
        interval = std::min(interval * 2, kMaxProbeNanos);
      }
    }
  }

  static LockOwner SelfChecked(const void* storage) {
    const LockOwner self = P::Self();
    if (self.tid == 0 || self.tid >= OwnerWord::kTidNotRecoverable) {
      Die(storage, "the platform gave a thread id the lock word cannot hold");
    }
    return self;
  }

  [[noreturn]] static void Die(const void* storage, const char* what) {
    std::fprintf(stderr, "libsysv: OwnerWordMutex at %p: %s\n", storage, what);
    std::abort();
  }

  static void CheckAligned(const void* storage) {
    if (reinterpret_cast<uintptr_t>(storage) % kStorageAlign != 0) {
      Die(storage, "storage is misaligned");
    }
  }

  static uint64_t* WordOf(void* storage) { return static_cast<uint64_t*>(storage); }
  // The low half as the 32-bit word the Waiter contract takes. Only its
  // address reaches the kernel; every load and store of the word goes
  // through the 64-bit atomics above.
  static const std::atomic<uint32_t>* LowWordOf(void* storage) {
    return reinterpret_cast<const std::atomic<uint32_t>*>(storage);
  }
  static uint32_t* MagicOf(void* storage) {
    return reinterpret_cast<uint32_t*>(static_cast<char*>(storage) + kMagicOffset);
  }

  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
                "sleepers wait on the low half of the word at its own address");

  // constinit: zero-initialised, so access needs no TLS init guard.
  static constinit thread_local HeldRecord record_;
};

template <Waiter W, OwnerProbe P>
constinit thread_local typename OwnerWordMutex<W, P>::HeldRecord OwnerWordMutex<W, P>::record_{};

}  // namespace sysv::core

#endif  // SYSV_CORE_OWNER_WORD_MUTEX_H_
