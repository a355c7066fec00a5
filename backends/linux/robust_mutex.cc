#include "backends/linux/robust_mutex.h"

#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/deadline.h"
#include "core/shared_mutex.h"

#if !defined(__GLIBC__)
#error "RobustMutex relies on glibc's pthread_mutex_t layout and robust list"
#endif

// gcc defines __SANITIZE_THREAD__; clang answers __has_feature.
#if defined(__SANITIZE_THREAD__)
#define SYSV_ROBUST_MUTEX_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SYSV_ROBUST_MUTEX_TSAN 1
#endif
#endif
#ifdef SYSV_ROBUST_MUTEX_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace sysv::linux_backend {
namespace {

using ::sysv::core::Deadline;
using ::sysv::core::LockResult;

// --- glibc's layout, which the checks and repairs below rely on. ---------
//
// The fields are public (bits/struct_mutex.h), their meaning is glibc's
// (nptl/pthreadP.h, nptl/pthread_mutex_*.c). The robust list is doubly linked
// on every 64-bit glibc target (__PTHREAD_MUTEX_HAVE_PREV); every link points
// at the __next field of the next entry, or at the thread's list head.
static_assert(__PTHREAD_MUTEX_HAVE_PREV == 1,
              "the link repair below assumes glibc's doubly linked list");
static_assert(offsetof(pthread_mutex_t, __data.__lock) == 0,
              "the futex word is the first field");
static_assert(sizeof(pthread_mutex_t::__data.__lock) == 4);
static_assert(sizeof(pthread_mutex_t::__data.__kind) == 4);

// The robust and process-shared bits of __kind (PTHREAD_MUTEX_ROBUST_NORMAL_NP
// and PTHREAD_MUTEX_PSHARED_BIT, glibc-internal values in nptl/pthreadP.h).
// The whole __kind that Init's attributes give also carries glibc's elision
// flags (2.36 on x86_64: 16 | 128 | PTHREAD_MUTEX_NO_ELISION_NP = 656), so it
// is not hard-coded: ExpectedKind() asks pthread_mutex_init once.
constexpr int kRobustKindBit = 16;
constexpr int kSharedKindBit = 128;

// __owner values with a meaning (nptl/pthreadP.h).
constexpr int kOwnerInconsistent = 0x7fffffff;  // PTHREAD_MUTEX_INCONSISTENT

// The offset the kernel adds to a list link to find the futex word; glibc
// registers it with set_robust_list(2).
constexpr long kFutexOffset =
    static_cast<long>(offsetof(pthread_mutex_t, __data.__lock)) -
    static_cast<long>(offsetof(pthread_mutex_t, __data.__list.__next));

// Unlock retries this often against a storage that keeps changing under it.
constexpr int kUnlockAttempts = 8;

constexpr int64_t kNanosPerSecond = 1'000'000'000;

[[noreturn]] void Die(const void* storage, const char* what) {
  std::fprintf(stderr, "libsysv: RobustMutex at %p: %s\n", storage, what);
  std::abort();
}

// Makes `m` a robust, process-shared mutex of type NORMAL; returns the
// pthread_mutex_init result.
int InitPthreadMutex(pthread_mutex_t* m) {
  pthread_mutexattr_t attr;
  if (pthread_mutexattr_init(&attr) != 0 ||
      pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_NORMAL) != 0 ||
      pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) != 0 ||
      pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) != 0) {
    return EINVAL;
  }
  const int rc = pthread_mutex_init(m, &attr);
  pthread_mutexattr_destroy(&attr);
  return rc;
}

// The __kind of every mutex Init makes, learnt once from a private mutex.
int ExpectedKind() {
  static const int kind = [] {
    pthread_mutex_t probe;
    const int rc = InitPthreadMutex(&probe);
    if (rc != 0) {
      std::fprintf(stderr, "libsysv: pthread_mutex_init: %s\n",
                   std::strerror(rc));
      Die(&probe, "cannot make a robust process-shared mutex");
    }
    const int k = probe.__data.__kind;
    pthread_mutex_destroy(&probe);
    if ((k & kRobustKindBit) == 0 || (k & kSharedKindBit) == 0) {
      Die(&probe, "glibc encodes a robust shared mutex's kind differently");
    }
    return k;
  }();
  return kind;
}

// Every access we make to the shared storage is a relaxed atomic one: other
// processes (a scribbler included) write it concurrently, and the ordering
// that matters is glibc's (acquire CAS in lock, release exchange in unlock).
template <typename T>
T LoadRelaxed(const T* p) {
  return __atomic_load_n(p, __ATOMIC_RELAXED);
}
template <typename T>
void StoreRelaxed(T* p, T value) {
  __atomic_store_n(p, value, __ATOMIC_RELAXED);
}

unsigned* MagicOf(void* storage) {
  return reinterpret_cast<unsigned*>(static_cast<char*>(storage) +
                                     RobustMutex::kMagicOffset);
}

pthread_mutex_t* MutexAt(void* storage) {
  if (reinterpret_cast<uintptr_t>(storage) % RobustMutex::kStorageAlign != 0) {
    Die(storage, "storage is misaligned");
  }
  return static_cast<pthread_mutex_t*>(storage);
}

// The robust-list link of `m`: where glibc's list (and the kernel) point.
void* LinkOf(pthread_mutex_t* m) { return &m->__data.__list.__next; }

// --- TSan. ----------------------------------------------------------------
//
// libtsan intercepts pthread_mutex_lock/timedlock/unlock but not
// pthread_mutex_clocklock, so without these annotations TSan would see the
// unlock of a mutex it never saw locked, and no happens-before between
// holders. The interceptor of pthread_mutex_unlock does the unlock side.
#ifdef SYSV_ROBUST_MUTEX_TSAN
void TsanPreLock(void* m) { __tsan_mutex_pre_lock(m, __tsan_mutex_try_lock); }
void TsanPostLock(void* m, bool acquired) {
  __tsan_mutex_post_lock(
      m,
      __tsan_mutex_try_lock | (acquired ? 0u : __tsan_mutex_try_lock_failed),
      0);
}
// Unlock retries after a refused pthread_mutex_unlock, whose interceptor has
// already recorded a release: record the (still held) lock again.
void TsanRelock(void* m) {
  __tsan_mutex_pre_lock(m, 0);
  __tsan_mutex_post_lock(m, 0, 0);
}
#else
void TsanPreLock(void*) {}
void TsanPostLock(void*, bool) {}
void TsanRelock(void*) {}
#endif

// --- The thread's private record. -----------------------------------------
//
// Which RobustMutexes this thread holds, in lock order, and what it knows of
// its own robust list. Nothing here is in shared memory, so nothing here can
// be scribbled by another process.

// Whether glibc linked a held mutex into this thread's robust list.
enum class Link : unsigned char {
  kUnknown,    // the list head is unknown (get_robust_list failed)
  kLinked,     // it is the entry glibc linked at the top when we locked it
  kNotLinked,  // glibc took a path that does not link (the kind changed)
};

struct HeldMutex {
  pthread_mutex_t* mutex;
  bool owner_died;  // acquired with EOWNERDEAD, MarkConsistent not yet called
  Link link;
};

struct ThreadState {
  bool initialized;
  int expected_kind;  // ExpectedKind(), kept here to spare a guard load
  pid_t tid;
  // This thread's robust_list_head as registered by glibc, or nullptr.
  robust_list_head* head;
  // True while the robust list is exactly our kLinked entries, in the order
  // of held[], followed by the head: then every link is known privately.
  bool list_exact;
  int count;
  HeldMutex held[RobustMutex::kMaxHeldPerThread];
  // Unlink target for a kNotLinked mutex: glibc's unlink then writes here.
  __pthread_list_t dummy;
};

// constinit: zero-initialised, so access needs no TLS init guard.
constinit thread_local ThreadState state{};

void ClearStateInForkedChild() {
  // The child's only thread is a copy of the forking one; glibc gave it an
  // empty robust list and it holds nothing. Its TID is new; its list head is
  // at the same address (the same TCB, copied).
  state.count = 0;
  state.list_exact = false;
  if (state.initialized) state.tid = gettid();
}

robust_list_head* OwnRobustListHead() {
  robust_list_head* head = nullptr;
  size_t len = 0;
  if (syscall(SYS_get_robust_list, 0, &head, &len) != 0) return nullptr;
  if (head == nullptr || len != sizeof(robust_list_head)) return nullptr;
  if (head->futex_offset != kFutexOffset) return nullptr;
  return head;
}

ThreadState& State() {
  ThreadState& s = state;
  if (!s.initialized) [[unlikely]] {
    static const bool atfork_registered = [] {
      return pthread_atfork(nullptr, nullptr, &ClearStateInForkedChild) == 0;
    }();
    s.expected_kind = ExpectedKind();
    s.tid = gettid();
    // Without the atfork handler a child could believe it holds its
    // parent's locks; then do without the link repair rather than guess.
    s.head = atfork_registered ? OwnRobustListHead() : nullptr;
    s.initialized = true;
  }
  return s;
}

// The current top of this thread's robust list (glibc writes it only from
// this thread, and the kernel reads it only once the thread is gone).
void* ListTop(const robust_list_head* head) {
  return LoadRelaxed(&head->list.next);
}

// The link that stands for the head itself: the last entry's next, and the
// top of an empty list (the kernel stops its walk there).
void* HeadLink(robust_list_head* head) { return &head->list; }

int Find(const ThreadState& s, const pthread_mutex_t* m) {
  for (int i = s.count - 1; i >= 0; --i) {
    if (s.held[i].mutex == m) return i;
  }
  return -1;
}

// The link of the nearest kLinked entry in held[from], held[from + step], ...
// within [0, count), or nullptr.
void* NearestLinked(const ThreadState& s, int from, int step) {
  for (int i = from; i >= 0 && i < s.count; i += step) {
    if (s.held[i].link == Link::kLinked) return LinkOf(s.held[i].mutex);
  }
  return nullptr;
}

// Records that this thread now holds `m`. `top_before` is the list top read
// before the lock call.
void Push(ThreadState& s, pthread_mutex_t* m, bool owner_died,
          void* top_before) {
  Link link = Link::kUnknown;
  if (s.head != nullptr) {
    link = ListTop(s.head) == LinkOf(m) ? Link::kLinked : Link::kNotLinked;
  }
  if (link == Link::kLinked) {
    void* const below = NearestLinked(s, s.count - 1, -1);
    if (below == nullptr) {
      s.list_exact = top_before == HeadLink(s.head);  // the list held nothing but us
    } else {
      s.list_exact = s.list_exact && top_before == below;
    }
  }
  s.held[s.count++] = HeldMutex{m, owner_died, link};
}

void Remove(ThreadState& s, int i) {
  for (int j = i + 1; j < s.count; ++j) s.held[j - 1] = s.held[j];
  --s.count;
  if (NearestLinked(s, s.count - 1, -1) == nullptr) s.list_exact = false;
}

// Before an unlock: gives the glibc fields that pthread_mutex_unlock reads
// the values they must have while this thread holds `entry`, wherever they
// differ, from private knowledge only. See "untrusted storage" in the header.
void RepairHeldFields(ThreadState& s, int i) {
  const HeldMutex& entry = s.held[i];
  pthread_mutex_t* const m = entry.mutex;
  auto& data = m->__data;

  if (LoadRelaxed(&data.__kind) != s.expected_kind) {
    StoreRelaxed(&data.__kind, s.expected_kind);
  }
  // An unrepaired owner death stays visible, so that glibc releases the
  // mutex as not recoverable, as the contract says.
  const int owner = entry.owner_died ? kOwnerInconsistent : s.tid;
  if (LoadRelaxed(&data.__owner) != owner) StoreRelaxed(&data.__owner, owner);
  // FUTEX_WAITERS in case a waiter's bit was overwritten: one futex wake too
  // many costs a system call, one too few leaves a waiter asleep.
  const int lock = LoadRelaxed(&data.__lock);
  if ((static_cast<unsigned>(lock) & FUTEX_TID_MASK) !=
      static_cast<unsigned>(s.tid)) {
    StoreRelaxed(&data.__lock, static_cast<int>(static_cast<unsigned>(s.tid) |
                                                FUTEX_WAITERS));
  }

  __pthread_internal_list* prev = nullptr;
  __pthread_internal_list* next = nullptr;
  switch (entry.link) {
    case Link::kUnknown:
      return;  // no private knowledge: glibc's stored links are used
    case Link::kNotLinked:
      prev = next = reinterpret_cast<__pthread_internal_list*>(&s.dummy.__next);
      break;
    case Link::kLinked: {
      // Exact only if no foreign robust mutex sits above our top entry.
      if (!s.list_exact || ListTop(s.head) != NearestLinked(s, s.count - 1, -1)) {
        s.list_exact = false;
        return;
      }
      void* const above = NearestLinked(s, i + 1, +1);
      void* const below = NearestLinked(s, i - 1, -1);
      prev = static_cast<__pthread_internal_list*>(above ? above : HeadLink(s.head));
      next = static_cast<__pthread_internal_list*>(below ? below : HeadLink(s.head));
      break;
    }
  }
  if (LoadRelaxed(&data.__list.__prev) != prev) {
    StoreRelaxed(&data.__list.__prev, prev);
  }
  if (LoadRelaxed(&data.__list.__next) != next) {
    StoreRelaxed(&data.__list.__next, next);
  }
}

}  // namespace

void RobustMutex::Init(void* storage) {
  pthread_mutex_t* const m = MutexAt(storage);
  const int kind = ExpectedKind();
  std::memset(storage, 0, kStorageSize);
  const int rc = InitPthreadMutex(m);
  if (rc != 0) {
    std::fprintf(stderr, "libsysv: pthread_mutex_init: %s\n",
                 std::strerror(rc));
    Die(storage, "cannot initialise a robust process-shared mutex");
  }
  if (LoadRelaxed(&m->__data.__kind) != kind) {
    Die(storage, "pthread_mutex_init gave a different kind than before");
  }
  // Release: a process that sees the magic sees a formatted mutex.
  __atomic_store_n(MagicOf(storage), kMagic, __ATOMIC_RELEASE);
}

LockResult RobustMutex::Lock(void* storage, Deadline deadline) {
  pthread_mutex_t* const m = MutexAt(storage);
  ThreadState& s = State();
  // Step 1 of "untrusted storage": never hand glibc a mutex whose kind or
  // magic is wrong. Pairs with the release store of the magic in Init.
  if (__atomic_load_n(MagicOf(storage), __ATOMIC_ACQUIRE) != kMagic ||
      LoadRelaxed(&m->__data.__kind) != s.expected_kind) {
    return LockResult::kCorrupt;
  }
  if (Find(s, m) >= 0) Die(storage, "Lock of a mutex this thread holds");
  if (s.count == kMaxHeldPerThread) {
    Die(storage, "this thread holds too many RobustMutexes");
  }
  void* const top_before = s.head != nullptr ? ListTop(s.head) : nullptr;

  const int64_t nanos = deadline.monotonic_nanos();
  struct timespec abs_timeout;
  abs_timeout.tv_sec = static_cast<time_t>(nanos / kNanosPerSecond);
  abs_timeout.tv_nsec = static_cast<long>(nanos % kNanosPerSecond);

  TsanPreLock(m);
  // Acquire ordering: glibc's CAS on the lock word (atomic_..._acq), paired
  // with the release exchange in pthread_mutex_unlock or the kernel's
  // cmpxchg that sets FUTEX_OWNER_DIED.
  const int rc = pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &abs_timeout);
  TsanPostLock(m, rc == 0 || rc == EOWNERDEAD);
  switch (rc) {
    case 0:
      Push(s, m, /*owner_died=*/false, top_before);
      return LockResult::kAcquired;
    case EOWNERDEAD:
      Push(s, m, /*owner_died=*/true, top_before);
      return LockResult::kAcquiredOwnerDied;
    case ETIMEDOUT:
      return LockResult::kTimedOut;
    default:
      // ENOTRECOVERABLE: an owner death was never repaired (or __owner was
      // scribbled to say so). EINVAL, EDEADLK, EAGAIN, EPERM: a kind changed
      // between our check and glibc's read. The caller does not hold it.
      return LockResult::kCorrupt;
  }
}

void RobustMutex::Unlock(void* storage) {
  pthread_mutex_t* const m = MutexAt(storage);
  ThreadState& s = State();
  const int i = Find(s, m);
  if (i < 0) Die(storage, "Unlock of a mutex this thread does not hold");
  // Release ordering: glibc's atomic_exchange_rel of the lock word.
  for (int attempt = 0; attempt < kUnlockAttempts; ++attempt) {
    RepairHeldFields(s, i);
    if (attempt > 0) TsanRelock(m);
    // 0, or EPERM/EINVAL when the storage changed again since the repair
    // (a scribbler racing us); then repair and try again, a bounded number
    // of times so that it cannot keep us here.
    if (pthread_mutex_unlock(m) == 0) break;
  }
  Remove(s, i);
}

void RobustMutex::MarkConsistent(void* storage) {
  pthread_mutex_t* const m = MutexAt(storage);
  ThreadState& s = State();
  const int i = Find(s, m);
  if (i < 0) Die(storage, "MarkConsistent of a mutex this thread does not hold");
  if (!s.held[i].owner_died) {
    Die(storage, "MarkConsistent without kAcquiredOwnerDied");
  }
  auto& data = m->__data;
  if (LoadRelaxed(&data.__kind) != s.expected_kind) {
    StoreRelaxed(&data.__kind, s.expected_kind);
  }
  if (LoadRelaxed(&data.__owner) != kOwnerInconsistent) {
    StoreRelaxed(&data.__owner, kOwnerInconsistent);
  }
  // Sets __owner to our TID. EINVAL only if the fields changed again under
  // us; Unlock's repair writes the consistent owner anyway, from the record.
  (void)pthread_mutex_consistent(m);
  s.held[i].owner_died = false;
}

}  // namespace sysv::linux_backend
