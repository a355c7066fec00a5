// Test controls of the Linux double of umtx_sys.h (umtx_sys_linux_double.cc).
//
// The double keeps DragonFly's umtx contract (umtx_sys.h) on Linux futexes.
// Beyond what Linux would do by itself, it reproduces the answers that make
// umtx_sleep awkward, so that UmtxWaiter's loop is exercised on every run:
//   - injected results: at once, without sleeping, and only where DragonFly
//     could give them (the word is writable and equals the value):
//       kSpuriousWakeup   0, as after a fork() by another thread;
//       kBusy             EBUSY, as for a value that changed and changed back;
//       kFailsafeTimeout  EWOULDBLOCK, as when kern.umtx_timeout_max fires;
//   - the failsafe timeout itself: every real sleep is capped at
//     FailsafeTimeoutMicros() (2 s, DragonFly's default), also when
//     timeout_us is 0, and then answers EWOULDBLOCK;
//   - read-only mappings: the word is probed with an atomic add of 0 (a
//     FUTEX_WAKE_OP, which needs write access, like DragonFly's
//     fuwordadd32()), and a word that cannot be written reads as -1, so it
//     answers EBUSY for any other value;
//   - EFAULT for a misaligned word, EINVAL for an unmapped one or timeout < 0;
//   - a wakeup with count != 1 wakes every sleeper.
// Injection is on by default (see UmtxFaults), so that the waiter
// conformance suite, which knows nothing of the double, goes through every
// branch of the loop.
//
// Not reproduced: a word whose value is -1 in a read-only mapping sleeps on
// DragonFly (the failed read equals the value); the double sleeps then with a
// plain nanosleep that no wakeup ends.
#ifndef SYSV_BACKENDS_DRAGONFLY_UMTX_SYS_LINUX_DOUBLE_H_
#define SYSV_BACKENDS_DRAGONFLY_UMTX_SYS_LINUX_DOUBLE_H_

#include <cstdint>
#include <vector>

namespace sysv::dragonfly_backend::testing {

// What an injected UmtxSleep() answers.
enum class UmtxInjection {
  kSpuriousWakeup,   // returns 0
  kBusy,             // returns -1, EBUSY
  kFailsafeTimeout,  // returns -1, EWOULDBLOCK
};

// Periodic injection: of the UmtxSleep() calls that would sleep, numbered
// from 0 process-wide, call n gets kFailsafeTimeout if n % failsafe_every
// == failsafe_every - 1, else kBusy by busy_every, else kSpuriousWakeup by
// spurious_every. 0 turns a kind off. The defaults (pairwise coprime, so the
// kinds mix) are what every test gets unless it changes them.
struct UmtxFaults {
  int spurious_every = 3;
  int busy_every = 5;
  int failsafe_every = 7;
};

// Replaces the periodic injection (and resets the call numbering).
void SetUmtxFaults(const UmtxFaults& faults);

// Scripted injection: the next UmtxSleep() calls that would sleep answer
// these, in order, before periodic injection resumes.
void ScriptUmtxSleeps(const std::vector<UmtxInjection>& script);

// The cap on every real sleep, in microseconds (DragonFly's
// kern.umtx_timeout_max). Default 2'000'000.
void SetFailsafeTimeoutMicros(int micros);
int FailsafeTimeoutMicros();

// What the double has done since the last ResetUmtxStats().
struct UmtxStats {
  uint64_t sleep_calls = 0;     // UmtxSleep() calls, whatever they answered
  uint64_t injected = 0;        // ... answered by injection
  uint64_t kernel_sleeps = 0;   // ... that reached FUTEX_WAIT
  uint64_t busy = 0;            // ... that answered EBUSY (real or injected)
  uint64_t read_only = 0;       // ... that found the word not writable
  uint64_t wakeup_calls = 0;    // UmtxWakeup() calls
};
UmtxStats GetUmtxStats();
void ResetUmtxStats();

// Restores every default above and clears the script and the statistics.
void ResetUmtxDouble();

}  // namespace sysv::dragonfly_backend::testing

#endif  // SYSV_BACKENDS_DRAGONFLY_UMTX_SYS_LINUX_DOUBLE_H_
