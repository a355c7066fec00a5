// The guest side of the QEMU driver test (qemu_driver_test.sh): a tiny
// check harness with no dependencies (the binaries link statically and run
// under busybox's init), printing one line per check and a tally that the
// host reads from the serial log.
#ifndef SYSV_TESTS_DRIVER_GUEST_CHECK_H_
#define SYSV_TESTS_DRIVER_GUEST_CHECK_H_

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>

namespace sysv::guest {

struct Tally {
  int passed = 0;
  int failed = 0;
};
Tally &GlobalTally();

// Records one check: prints "ok - name" or "not ok - name: detail".
bool Check(bool ok, const std::string &name, const std::string &detail = "");

// Equality with both values in the failure line.
template <typename A, typename B>
bool CheckEq(const A &got, const B &want, const std::string &name) {
  return Check(static_cast<int64_t>(got) == static_cast<int64_t>(want), name,
               "got " + std::to_string(static_cast<int64_t>(got)) + ", want " +
                   std::to_string(static_cast<int64_t>(want)));
}

// A call that must fail with `want_errno` (rc is its -1/0 result).
bool CheckErrno(long rc, int saved_errno, int want_errno, const std::string &name);

// A call that must fail with `want`: the call is made before errno is read
// (function arguments have no evaluation order).
#define GUEST_CHECK_ERRNO(call, want, name)                         \
  do {                                                              \
    const long guest_rc_ = static_cast<long>(call);                 \
    const int guest_errno_ = errno;                                 \
    ::sysv::guest::CheckErrno(guest_rc_, guest_errno_, want, name); \
  } while (0)

// Prints "GUEST-TALLY <suite>: N passed, M failed" and returns the exit code.
int Finish(const char *suite);

}  // namespace sysv::guest

#endif  // SYSV_TESTS_DRIVER_GUEST_CHECK_H_
