// Test controls of the Linux double of kinfo_sys.h
// (kinfo_sys_linux_double.cc).
#ifndef SYSV_BACKENDS_DRAGONFLY_KINFO_SYS_LINUX_DOUBLE_H_
#define SYSV_BACKENDS_DRAGONFLY_KINFO_SYS_LINUX_DOUBLE_H_

namespace sysv::dragonfly_backend::testing {

// What InJail() answers from now on (false at start): a test that checks
// what a jailed process concludes from a missing record sets it.
void SetJailedForTesting(bool jailed);

}  // namespace sysv::dragonfly_backend::testing

#endif  // SYSV_BACKENDS_DRAGONFLY_KINFO_SYS_LINUX_DOUBLE_H_
