// The two DragonFly system calls UmtxWaiter is built on, and nothing else:
// the waiting logic (loops, deadlines, fallbacks) is in umtx_waiter.cc, which
// is portable. Two implementations of this header exist:
//   umtx_sys_dragonfly.cc     the real umtx_sleep(2)/umtx_wakeup(2) (libc,
//                             declared in DragonFly's include/unistd.h);
//                             built only for //build_defs:dragonfly_os.
//   umtx_sys_linux_double.cc  a test double on Linux futexes that keeps the
//                             DragonFly contract below, including its odd
//                             corners, and injects spurious returns; it is
//                             what umtx_waiter_test runs against.
// Which one a binary gets is decided by what it links (see BUILD), never by
// #ifdef.
//
// The contract, as DragonFly implements it (sys/kern/kern_umtx.c,
// sys_umtx_sleep() and sys_umtx_wakeup(); lib/libc/sys/umtx.2), which both
// implementations keep:
//
// UmtxSleep(ptr, value, timeout_us): if *ptr == value, sleeps until an
// UmtxWakeup() on the same memory, a signal, or `timeout_us` microseconds
// (0 = no timeout of ours). The comparison is interlocked against
// UmtxWakeup(): a wakeup issued after a store that made *ptr != value is never
// lost. Returns 0 when it slept and was woken, or -1 with errno:
//   EBUSY        *ptr != value when looked at. ALSO returned when the value
//                only looked different: the kernel reads the word with an
//                atomic add of 0 (fuwordadd32()), which fails on a read-only
//                mapping and then reads as -1; a word in a read-only mapping
//                therefore always answers EBUSY (unless value == -1).
//   EWOULDBLOCK  a timeout: ours, or the kernel's failsafe one, which caps
//                every sleep at kern.umtx_timeout_max (2 s by default) even
//                when timeout_us is 0, or a retry the kernel wants after a
//                copy-on-write. It says nothing about whether our deadline
//                passed. (EWOULDBLOCK == EAGAIN on DragonFly and on Linux.)
//   EINTR        a signal handler ran; never restarted, even with SA_RESTART.
//   EINVAL       timeout_us < 0, or the page cannot be translated (unmapped).
//   EFAULT       ptr is not 4-byte aligned.
// A return of 0 may also be spurious ("operating system events", such as a
// fork() by any thread of the process, wake every sleeper with the value
// unchanged).
//
// UmtxWakeup(ptr, count): wakes sleepers on the memory behind ptr: one if
// count == 1, otherwise ALL of them (count 0 means all; DragonFly wakes all
// for any count other than 1: "XXX wakes them all up for now"). The key is the
// physical address, so sleepers in other processes mapping the same file page
// at other addresses are woken. Returns 0, or -1 with errno EFAULT (ptr
// misaligned) or EINVAL (unmapped).
#ifndef SYSV_BACKENDS_DRAGONFLY_UMTX_SYS_H_
#define SYSV_BACKENDS_DRAGONFLY_UMTX_SYS_H_

namespace sysv::dragonfly_backend {

// umtx_sleep(2); see the contract above.
int UmtxSleep(const volatile int* ptr, int value, int timeout_us);

// umtx_wakeup(2); see the contract above.
int UmtxWakeup(const volatile int* ptr, int count);

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_UMTX_SYS_H_
