#include "compat/fault_safe_copy.h"

#include <setjmp.h>
#include <signal.h>

#include <atomic>
#include <cstring>
#include <mutex>

#include "backends/common/signal_chain.h"
#include "compat/real_sigaction.h"

namespace sysv::compat {
namespace {

// volatile: the stores that open and close the recovery window around the
// copy must both happen, in order with the copy's accesses. Without it the
// compiler may drop the first store as dead (nothing but the signal handler
// reads it before the second one), and a fault then crashes.
thread_local sigjmp_buf* volatile t_recovery = nullptr;
struct sigaction g_previous_segv;
struct sigaction g_previous_bus;

// Through the C library's sigaction, as InstallOnce() installs: restoring
// the default is libsysv's own disposition change, not one the program made.
void Chain(int sig, siginfo_t* info, void* context) {
  backend::ChainSignal(sig == SIGSEGV ? g_previous_segv : g_previous_bus, sig, info, context, &CallRealSigaction);
}

void OnFault(int sig, siginfo_t* info, void* context) {
  if (sigjmp_buf* recovery = t_recovery) {
    t_recovery = nullptr;
    siglongjmp(*recovery, 1);
  }
  Chain(sig, info, context);
}

void InstallOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_sigaction = &OnFault;
    // SA_NODEFER: leaving through siglongjmp must not leave the signal
    // blocked (the jump does not restore the mask, to stay syscall-free).
    action.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    // The C library's sigaction, not libsysv's wrapper: this handler is
    // libsysv's own, and a fault it recovers from is no signal the program
    // handled (it must not count in the signal epoch, nor run inside the
    // wrapper's trampoline).
    CallRealSigaction(SIGSEGV, &action, &g_previous_segv);
    CallRealSigaction(SIGBUS, &action, &g_previous_bus);
  });
}

// Runs body() inside the recovery window; false when it faulted. A
// template, so that each caller's body is compiled into its own copy
// (a function that calls sigsetjmp is never inlined, but what it calls
// can be): FaultSafeCopy's memcpy stays a direct call on every semop.
template <typename Body>
bool Guarded(const Body& body) {
  InstallOnce();
  sigjmp_buf recovery;
  if (sigsetjmp(recovery, 0) != 0) return false;
  t_recovery = &recovery;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  // The signal fences keep every access of the body inside the recovery
  // window (the compiler may not move memory accesses across them), so the
  // body can use the C library's word-wise memcpy: a byte loop through
  // volatile pointers cost about a fifth of a 64-byte msgsnd's CPU. A fault
  // inside memcpy leaves it through siglongjmp, which is safe: memcpy holds
  // no lock and no state.
  body();
  std::atomic_signal_fence(std::memory_order_seq_cst);
  t_recovery = nullptr;
  return true;
}

}  // namespace

bool FaultSafeRun(void (*body)(void* context), void* context) {
  return Guarded([&] { body(context); });
}

bool FaultSafeCopy(void* dst, const void* src, size_t size) {
  if (size == 0) return true;
  if (src == nullptr || dst == nullptr) return false;
  return Guarded([&] { std::memcpy(dst, src, size); });
}

}  // namespace sysv::compat
