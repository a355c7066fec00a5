#include "backends/common/signal_epoch.h"

#include <setjmp.h>

#include <atomic>


namespace sysv::backend {
namespace {

// Only this thread and its signal handlers touch these: volatile plus
// signal fences order them against the handler, no atomics needed.
thread_local volatile uint64_t t_epoch = 0;
thread_local sigjmp_buf* volatile t_escape = nullptr;

}  // namespace

uint64_t SignalEpoch() { return t_epoch; }

void NoteSignalHandled() {
  t_epoch = t_epoch + 1;
  std::atomic_signal_fence(std::memory_order_seq_cst);
}

void EscapeInterruptibleWait() {
  sigjmp_buf* escape = t_escape;
  if (escape == nullptr) return;
  t_escape = nullptr;
  siglongjmp(*escape, 1);
}

sysv::core::WaitResult InterruptibleWaitWith(WaitFn wait, const std::atomic<uint32_t>* word,
                                             uint32_t expected, sysv::core::Deadline deadline,
                                             uint64_t since) {
  // A handler may itself sleep in semop while this thread is in the window:
  // the outer escape point comes back when the inner wait ends.
  sigjmp_buf* const outer = t_escape;
  sigjmp_buf escape;
  // savemask = 1: a handler left by siglongjmp would otherwise leave its
  // signal blocked (the kernel blocks it while the handler runs).
  if (sigsetjmp(escape, 1) != 0) {
    t_escape = outer;
    return sysv::core::WaitResult::kInterrupted;
  }
  t_escape = &escape;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (t_epoch != since) {
    t_escape = outer;
    return sysv::core::WaitResult::kInterrupted;
  }
  sysv::core::WaitResult result = wait(word, expected, deadline);
  t_escape = outer;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (t_epoch != since) result = sysv::core::WaitResult::kInterrupted;
  return result;
}

}  // namespace sysv::backend
