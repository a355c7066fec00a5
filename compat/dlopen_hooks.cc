// dlopen(RTLD_DEEPBIND) and dlmopen(), served too (preload build only).
//
// A library loaded with RTLD_DEEPBIND looks its symbols up in its own scope
// (itself, its dependencies, libc) before the global one where the preloaded
// libsysv sits; one loaded by dlmopen() into another link-map namespace never
// sees libsysv at all. Either way its shmget/semget/msgget bind to libc and
// its objects land in the kernel: PHP's sysv extensions (loaded with
// RTLD_LAZY | RTLD_GLOBAL | RTLD_DEEPBIND) made every PHP program split its
// objects between two namespaces without a word. So after such a load, the
// SysV symbol slots of every object it brought in are pointed at libsysv
// (backends/<os>/elf_rebind.h), and a slot that cannot be rewritten is
// reported on stderr: a program never uses two namespaces silently.
//
// Every other dlopen() must behave exactly as if libsysv were not there, and
// glibc's dlopen() looks at its caller (the return address) to choose the
// RUNPATH, $ORIGIN and link-map namespace of the search. A C++ wrapper would
// make libsysv the caller of every dlopen in the process, so the entry point
// is a few instructions of assembly that jump (not call) to the real dlopen
// unless RTLD_DEEPBIND is set: its caller stays the program's. The
// RTLD_DEEPBIND path and dlmopen() are called from here, so for them a
// relative file name is searched with libsysv's RUNPATH (it has none) and
// not the caller's; the extensions that use RTLD_DEEPBIND in practice (PHP)
// pass absolute paths.
#include <dlfcn.h>
#include <link.h>

#include <cstdio>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "backends/platform.h"
#include "compat/preload_symbols.h"

static_assert(RTLD_DEEPBIND == 8, "the assembly below tests bit 3 of the mode for RTLD_DEEPBIND");

namespace {

using DlopenFn = void* (*)(const char*, int);
using DlmopenFn = void* (*)(Lmid_t, const char*, int);

// Objects whose slots are never rewritten: the C library defines these
// functions, the dynamic linker calls none, and libsysv is libsysv.
constexpr const char* kNeverRebound[] = {"libc.so", "ld-linux", "libsysv.so"};

// Rebinds the SysV symbols of every object in `handle`'s namespace that is
// not in `before`, and says on stderr what it could not rebind.
void RebindNewObjects(void* handle, const absl::flat_hash_set<uintptr_t>& before) {
  const sysv::platform::RebindReport report =
      sysv::platform::RebindObjectsBeside(handle, sysv::compat::PreloadSymbols(), before, kNeverRebound);
  for (const std::string& failure : report.failures) {
    std::fprintf(stderr,
                 "libsysv: cannot serve %s: its System V IPC calls reach the kernel's namespace, "
                 "not libsysv's\n",
                 failure.c_str());
  }
}

DlopenFn RealDlopen() { return reinterpret_cast<DlopenFn>(dlsym(RTLD_NEXT, "dlopen")); }

}  // namespace

extern "C" {

// Read by the assembly entry point; set before main (and on first use, for a
// dlopen made by another library's constructor before ours ran).
__attribute__((visibility("hidden"))) DlopenFn sysv_real_dlopen = nullptr;

__attribute__((constructor)) static void InitRealDlopen() { sysv_real_dlopen = RealDlopen(); }

// The paths the entry point takes when it cannot just jump.
__attribute__((visibility("hidden"))) void* sysv_dlopen_deepbind(const char* file, int mode) {
  if (sysv_real_dlopen == nullptr) sysv_real_dlopen = RealDlopen();
  const absl::flat_hash_set<uintptr_t> before = sysv::platform::LoadedObjects();
  void* handle = sysv_real_dlopen(file, mode);
  if (handle != nullptr) RebindNewObjects(handle, before);
  return handle;
}

__attribute__((visibility("hidden"))) void* sysv_dlopen_unresolved(const char* file, int mode) {
  sysv_real_dlopen = RealDlopen();
  return sysv_real_dlopen(file, mode);
}

__attribute__((visibility("default"))) void* dlmopen(Lmid_t lmid, const char* file, int mode) {
  static const DlmopenFn real = reinterpret_cast<DlmopenFn>(dlsym(RTLD_NEXT, "dlmopen"));
  const absl::flat_hash_set<uintptr_t> before = sysv::platform::LoadedObjects();
  void* handle = real(lmid, file, mode);
  // Into the base namespace without RTLD_DEEPBIND, glibc binds to libsysv.
  if (handle != nullptr && (lmid != LM_ID_BASE || (mode & RTLD_DEEPBIND) != 0)) RebindNewObjects(handle, before);
  return handle;
}

}  // extern "C"

// dlopen itself: jump to the real one unless RTLD_DEEPBIND (bit 3 of the
// mode, the second argument) is set.
#if defined(__x86_64__)
asm(R"(
    .text
    .globl dlopen
    .type dlopen, @function
dlopen:
    testl $8, %esi
    jnz sysv_dlopen_deepbind
    movq sysv_real_dlopen(%rip), %rax
    testq %rax, %rax
    jz sysv_dlopen_unresolved
    jmp *%rax
    .size dlopen, .-dlopen
)");
#elif defined(__aarch64__)
asm(R"(
    .text
    .globl dlopen
    .type dlopen, %function
dlopen:
    tbnz w1, #3, sysv_dlopen_deepbind
    adrp x16, sysv_real_dlopen
    ldr x16, [x16, :lo12:sysv_real_dlopen]
    cbz x16, sysv_dlopen_unresolved
    br x16
    .size dlopen, .-dlopen
)");
#else
// Elsewhere the wrapper is C++ (its callers' RUNPATH is then libsysv's).
extern "C" __attribute__((visibility("default"))) void* dlopen(const char* file, int mode) {
  if ((mode & RTLD_DEEPBIND) != 0) return sysv_dlopen_deepbind(file, mode);
  if (sysv_real_dlopen == nullptr) return sysv_dlopen_unresolved(file, mode);
  return sysv_real_dlopen(file, mode);
}
#endif
