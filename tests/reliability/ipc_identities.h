// The users and modes of the permission differential tests: every class of
// ipc_perm (owner, creator, group by effective gid, by supplementary group
// and by creator gid, other, real versus effective ids, root) against
// modes with each class's read, write and execute bits alone and mixed.
#ifndef SYSV_TESTS_RELIABILITY_IPC_IDENTITIES_H_
#define SYSV_TESTS_RELIABILITY_IPC_IDENTITIES_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "tests/reliability/as_user.h"
#include "tests/testing/differential.h"

namespace sysv::testing {

inline constexpr uid_t kCreator = 2001;
inline constexpr gid_t kCreatorGroup = 3001;
inline constexpr uid_t kOwner = 2002;
inline constexpr gid_t kObjectGroup = 3002;  // the objects' gid after IPC_SET

// The creator makes each object, then gives it to kOwner and kObjectGroup.
const std::vector<Identity>& Identities();

inline constexpr int kModes[] = {0000, 0400, 0200, 0600, 0700, 0040, 0020, 0060,
                                 0050, 0004, 0002, 0006, 0005, 0640, 0604, 0466};

// The access this process holds on object `id`'s file under a
// "/state/<kind>/" directory or its sealed memfd, through a descriptor or a
// shared mapping:
// "rw", "ro" or "none" (several: the widest).
std::string HeldAccess(const char* kind, int id);
// A descriptor this process holds of object `id`'s region (as HeldAccess
// finds it), or -1.
int HeldRegionFd(const char* kind, int id);
// The start of this process's writable shared mapping of object `id`'s
// region, or nullptr.
void* HeldWritableMapping(const char* kind, int id);

}  // namespace sysv::testing

// In a permission test's body: skips (or, under SYSV_REQUIRE_ROOT=1, fails)
// unless users can be switched and the kernel side can have a private IPC
// namespace.
#define SYSV_SKIP_UNLESS_PERMISSIONS_CAN_BE_COMPARED()                                          \
  do {                                                                                          \
    SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();                                                   \
    if (!::sysv::testing::CanUseFreshKernelNamespace()) {                                       \
      if (::sysv::testing::RootRequired()) FAIL() << "unshare(CLONE_NEWIPC) failed under SYSV_REQUIRE_ROOT=1"; \
      GTEST_SKIP() << "unshare(CLONE_NEWIPC) is refused: the kernel side needs a private IPC namespace"; \
    }                                                                                           \
  } while (0)

#endif  // SYSV_TESTS_RELIABILITY_IPC_IDENTITIES_H_
