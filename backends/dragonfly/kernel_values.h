// Values daemon/ and compat/ pass straight to the kernel (mmap flags,
// signal numbers), through platform.h. They are the running kernel's, not
// a translation: under --config=dragonfly_doubles the backend runs on Linux
// and these calls (mmap, sigaction) reach Linux's kernel unchanged, so there
// they take Linux's values. The one #if of the backend besides
// backends/platform.h's choice, on the same define, because these must be
// constant expressions (kSignalLimit sizes an array in compat/) and so
// cannot come from a linked double as the *_sys.h calls do.
#ifndef SYSV_BACKENDS_DRAGONFLY_KERNEL_VALUES_H_
#define SYSV_BACKENDS_DRAGONFLY_KERNEL_VALUES_H_

#include <signal.h>
#include <sys/mman.h>

#include <cerrno>

namespace sysv::dragonfly_backend {

#if defined(SYSV_DRAGONFLY_BACKEND_ON_LINUX)
// Linux: MAP_FIXED_NOREPLACE fails with EEXIST on an occupied range; signals
// 1 to 64 (_NSIG is one more).
inline constexpr int kMapFixedNoReplace = MAP_FIXED_NOREPLACE;
inline constexpr int kMapAddressInUse = EEXIST;
inline constexpr int kSignalLimit = _NSIG;
#else
// mmap flag: exactly at the address given, failing if anything is mapped
// there: MAP_TRYFIXED (sys/vm/vm_mmap.c: no vm_map_remove() of what is
// there, and no search elsewhere), which fails with ENOMEM (KERN_NO_SPACE),
// an errno that also means "out of memory".
inline constexpr int kMapFixedNoReplace = MAP_TRYFIXED;
inline constexpr int kMapAddressInUse = ENOMEM;
// One more than the largest signal number sigaction() takes: 1 to 127
// (sys/sys/signal.h _SIG_VALID; NSIG, 64, is only the size of sigptbl).
inline constexpr int kSignalLimit = _SIG_MAXSIG;
#endif

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_KERNEL_VALUES_H_
