// Running a piece of a test as another user: a forked child that sets its
// supplementary groups, gids and uids (real, effective, saved) and then runs
// the body. The test process must be root; no /etc/passwd entry is needed,
// since the kernel only deals in numbers.
#ifndef SYSV_TESTS_RELIABILITY_AS_USER_H_
#define SYSV_TESTS_RELIABILITY_AS_USER_H_

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace sysv::testing {

struct Identity {
  std::string name;  // for traces and messages
  uid_t ruid = 0;
  uid_t euid = 0;
  gid_t rgid = 0;
  gid_t egid = 0;
  std::vector<gid_t> groups;  // supplementary
};

// A user with the same real and effective ids.
Identity User(std::string name, uid_t uid, gid_t gid, std::vector<gid_t> groups = {});

// The exit status of a child that could not take on an identity.
inline constexpr int kCannotSwitchIdentity = 77;

// Runs `body` in a forked child as `who` and returns the child's exit
// status (its return value, or 128 + the signal that killed it);
// kCannotSwitchIdentity if the child could not take on the identity.
int RunAs(const Identity& who, const std::function<int()>& body);

// Runs `body` as `who` (RunAs) and returns the int it returns, passed back
// through a pipe (an id the child made, say); -1 if the child failed
// before returning one.
int RunAsForValue(const Identity& who, const std::function<int()>& body);

// Empty if this process can create children of other users (it is root in a
// namespace that maps the ids used here: a probe child tries uid/gid 2001
// with a supplementary group); otherwise why not, with the errno. Computed
// once.
const std::string& CannotSwitchUsersReason();

// Whether SYSV_REQUIRE_ROOT=1: a missing capability is then a failure, not
// a skip (for CI, which runs as root, so that a lost capability is noticed).
bool RootRequired();

}  // namespace sysv::testing

// In a test body: skips the test, naming why, when users cannot be
// switched (fails it instead under SYSV_REQUIRE_ROOT=1).
#define SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED()                                              \
  do {                                                                                        \
    const std::string& sysv_reason = ::sysv::testing::CannotSwitchUsersReason();              \
    if (!sysv_reason.empty()) {                                                               \
      if (::sysv::testing::RootRequired()) FAIL() << "SYSV_REQUIRE_ROOT=1 but " << sysv_reason; \
      GTEST_SKIP() << sysv_reason;                                                            \
    }                                                                                         \
  } while (0)

#endif  // SYSV_TESTS_RELIABILITY_AS_USER_H_
