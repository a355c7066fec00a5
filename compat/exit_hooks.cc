// The ends of a process that libsysv sees, for SEM_UNDO at exit
// (compat/sem_exit.h): exit() and a return from main reach the library's
// destructor, which the C library runs after the program's own atexit
// handlers and destructors (the program was initialised after libsysv, so
// it is finalised before); _exit() and _Exit() called through the PLT reach
// the wrappers below. A process killed by a signal, or that ends by raw
// system call, is left to the daemon.
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

#include "backends/platform.h"
#include "compat/sem_exit.h"

namespace {

using ExitFn = void (*)(int);

// Resolved while the library loads, not at the call: _exit may be called
// from a signal handler or a vfork child, where dlsym and a function-local
// static's guard are not welcome.
ExitFn g_real_exit = nullptr;
ExitFn g_real_Exit = nullptr;

__attribute__((constructor)) void ResolveExits() {
  g_real_exit = reinterpret_cast<ExitFn>(dlsym(RTLD_NEXT, "_exit"));
  g_real_Exit = reinterpret_cast<ExitFn>(dlsym(RTLD_NEXT, "_Exit"));
}

[[noreturn]] void EndProcess(ExitFn real, int status) {
  if (real != nullptr) real(status);
  // No next definition (cannot happen with a C library): end all threads.
  sysv::platform::EndProcessNow(status);
}

__attribute__((destructor)) void ApplyUndoAtExit() { sysv::compat::ApplyOwnSemUndoBeforeExit(); }

}  // namespace

#define SYSV_EXPORT extern "C" __attribute__((visibility("default")))

SYSV_EXPORT void _exit(int status) {
  sysv::compat::ApplyOwnSemUndoBeforeExit();
  EndProcess(g_real_exit, status);
}

SYSV_EXPORT void _Exit(int status) {
  sysv::compat::ApplyOwnSemUndoBeforeExit();
  EndProcess(g_real_Exit, status);
}
