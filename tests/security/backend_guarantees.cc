#include "tests/security/backend_guarantees.h"

#include <unistd.h>

#include "backends/platform.h"

namespace sysv::testing {

absl::Status RegionsCanBeSealed() { return platform::CreateSealedRegion("sysvipc-probe", 4096).status(); }

absl::Status HeldFilesCanBeListed() { return platform::ProcessHeldFiles(getpid(), 1).status(); }

// BUILD defines SYSV_TEST_DRAGONFLY_BACKEND under --config=dragonfly_doubles:
// these are facts of the OS behind the backend, which the Linux host the
// doubles run on does not share.
#ifdef SYSV_TEST_DRAGONFLY_BACKEND
constexpr bool kDragonFly = true;
#else
constexpr bool kDragonFly = false;
#endif

bool BlocksPastEndExistOnBackendOs() { return !kDragonFly; }

bool ReadOnlyWaitsSleep() { return !kDragonFly; }

}  // namespace sysv::testing
