// The handler-installing functions of the C library (sigaction, signal,
// bsd_signal, sysv_signal, sigset), wrapped so that every handler the
// program installs runs through a trampoline that counts it in the signal
// epoch (compat/signal_epoch.h) and lets an interruptible wait end with
// EINTR. The program sees its own handlers: sigaction() reports the action
// it installed, never the trampoline.
//
// Flags and masks are the program's own; the trampoline is installed with
// SA_SIGINFO added, so that a three-argument handler gets its arguments.
// SIG_DFL and SIG_IGN are passed through untouched.
#include <dlfcn.h>
#include <signal.h>

#include <atomic>
#include <cerrno>

#include "backends/platform.h"
#include "compat/real_sigaction.h"

// A one-argument handler, as signal() takes and returns it (glibc calls the
// type sighandler_t, DragonFly __sighandler_t *: neither name is portable).
using SignalHandler = void (*)(int);

namespace {

using SigactionFn = int (*)(int, const struct sigaction*, struct sigaction*);

// Resolved on first use without a function-local static (whose guard a
// sanitizer runtime intercepts): a sanitizer calls sigaction() while it
// initialises, before anything else runs.
std::atomic<SigactionFn> g_real_sigaction{nullptr};

SigactionFn RealSigaction() {
  SigactionFn real = g_real_sigaction.load(std::memory_order_acquire);
  if (real == nullptr) {
    real = reinterpret_cast<SigactionFn>(dlsym(RTLD_NEXT, "sigaction"));
    g_real_sigaction.store(real, std::memory_order_release);
  }
  return real;
}

// The program's action per signal, for the trampoline (read in handlers:
// lock-free atomics only) and for reporting back.
struct ProgramAction {
  std::atomic<void*> handler{nullptr};  // sa_handler or sa_sigaction
  std::atomic<int> flags{0};
};
ProgramAction g_actions[sysv::platform::kSignalLimit];

void Trampoline(int sig, siginfo_t* info, void* context) {
  sysv::platform::NoteSignalHandled();
  if (sig > 0 && sig < sysv::platform::kSignalLimit) {
    ProgramAction& action = g_actions[sig];
    void* handler = action.handler.load(std::memory_order_acquire);
    const int flags = action.flags.load(std::memory_order_relaxed);
    if (flags & SA_RESETHAND) {
      // The kernel reset the disposition to SIG_DFL on delivery.
      action.handler.store(nullptr, std::memory_order_release);
    }
    if (handler != nullptr) {
      if (flags & SA_SIGINFO) {
        reinterpret_cast<void (*)(int, siginfo_t*, void*)>(handler)(sig, info, context);
      } else {
        reinterpret_cast<void (*)(int)>(handler)(sig);
      }
    }
  }
  sysv::platform::EscapeInterruptibleWait();
}

// sa_handler and sa_sigaction share their storage: SIG_DFL and SIG_IGN are
// dispositions whichever flag came with them.
bool IsHandler(const struct sigaction* act) {
  return act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN && act->sa_handler != SIG_ERR;
}

bool IsTrampoline(const struct sigaction* act) {
  return (act->sa_flags & SA_SIGINFO) && act->sa_sigaction == &Trampoline;
}

// sigaction() with the trampoline in place of the program's handler.
int WrappedSigaction(int sig, const struct sigaction* act, struct sigaction* oldact) {
  SigactionFn real = RealSigaction();
  if (real == nullptr) return -1;
  if (sig <= 0 || sig >= sysv::platform::kSignalLimit) return real(sig, act, oldact);
  ProgramAction& program = g_actions[sig];
  // What the program installed before, as it installed it.
  void* previous_handler = program.handler.load(std::memory_order_acquire);
  const int previous_flags = program.flags.load(std::memory_order_relaxed);
  int result;
  if (act != nullptr && IsHandler(act)) {
    struct sigaction wrapped = *act;
    wrapped.sa_flags |= SA_SIGINFO;
    wrapped.sa_sigaction = &Trampoline;
    // Published before the trampoline can run for it.
    program.flags.store(act->sa_flags, std::memory_order_relaxed);
    program.handler.store((act->sa_flags & SA_SIGINFO) ? reinterpret_cast<void*>(act->sa_sigaction)
                                                       : reinterpret_cast<void*>(act->sa_handler),
                          std::memory_order_release);
    result = real(sig, &wrapped, oldact);
    if (result != 0) {
      program.flags.store(previous_flags, std::memory_order_relaxed);
      program.handler.store(previous_handler, std::memory_order_release);
    }
  } else {
    result = real(sig, act, oldact);
    if (result == 0 && act != nullptr) program.handler.store(nullptr, std::memory_order_release);
  }
  if (result == 0 && oldact != nullptr && IsTrampoline(oldact) && previous_handler != nullptr) {
    oldact->sa_flags = previous_flags;
    if (previous_flags & SA_SIGINFO) {
      oldact->sa_sigaction = reinterpret_cast<void (*)(int, siginfo_t*, void*)>(previous_handler);
    } else {
      oldact->sa_handler = reinterpret_cast<void (*)(int)>(previous_handler);
    }
  }
  return result;
}

// signal() with the given flags, as the C library builds it on sigaction.
SignalHandler InstallWithFlags(int sig, SignalHandler handler, int flags, bool mask_self) {
  struct sigaction act {};
  struct sigaction old {};
  act.sa_handler = handler;
  sigemptyset(&act.sa_mask);
  if (mask_self && sig > 0 && sig < sysv::platform::kSignalLimit) sigaddset(&act.sa_mask, sig);
  act.sa_flags = flags;
  if (WrappedSigaction(sig, &act, &old) != 0) return SIG_ERR;
  return old.sa_handler;  // the same storage as sa_sigaction
}

}  // namespace

int sysv::compat::CallRealSigaction(int sig, const struct sigaction* action, struct sigaction* old) {
  const SigactionFn real = RealSigaction();
  if (real == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  return real(sig, action, old);
}

#define SYSV_EXPORT extern "C" __attribute__((visibility("default")))

SYSV_EXPORT int sigaction(int sig, const struct sigaction* act, struct sigaction* oldact) {
  return WrappedSigaction(sig, act, oldact);
}

// glibc's signal() and bsd_signal(): BSD semantics.
SYSV_EXPORT SignalHandler signal(int sig, SignalHandler handler) {
  return InstallWithFlags(sig, handler, SA_RESTART, /*mask_self=*/true);
}
SYSV_EXPORT SignalHandler bsd_signal(int sig, SignalHandler handler) {
  return InstallWithFlags(sig, handler, SA_RESTART, /*mask_self=*/true);
}
// System V semantics: one-shot, not blocked while it runs.
SYSV_EXPORT SignalHandler sysv_signal(int sig, SignalHandler handler) {
  return InstallWithFlags(sig, handler, SA_RESETHAND | SA_NODEFER, /*mask_self=*/false);
}

// A C library without XSI's sigset() (DragonFly's) has no SIG_HOLD either:
// then there is nothing to wrap.
#ifdef SIG_HOLD
// sigset(): SIG_HOLD blocks the signal (the C library's own sigset does
// that); anything else installs the disposition with an empty mask and
// unblocks the signal, returning SIG_HOLD if it was blocked.
SYSV_EXPORT SignalHandler sigset(int sig, SignalHandler handler) {
  if (sig <= 0 || sig >= sysv::platform::kSignalLimit) return SIG_ERR;
  sigset_t one, previous;
  sigemptyset(&one);
  sigaddset(&one, sig);
  if (handler == SIG_HOLD) {
    struct sigaction old {};
    if (WrappedSigaction(sig, nullptr, &old) != 0) return SIG_ERR;
    if (sigprocmask(SIG_BLOCK, &one, &previous) != 0) return SIG_ERR;
    if (sigismember(&previous, sig)) return SIG_HOLD;
    return old.sa_handler;
  }
  const SignalHandler old = InstallWithFlags(sig, handler, 0, /*mask_self=*/false);
  if (old == SIG_ERR) return SIG_ERR;
  if (sigprocmask(SIG_UNBLOCK, &one, &previous) != 0) return SIG_ERR;
  return sigismember(&previous, sig) ? SIG_HOLD : old;
}
#endif  // SIG_HOLD
