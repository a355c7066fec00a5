// The shared-mutex conformance suite over DragonFly's region mutex: against
// the Linux doubles of umtx and kinfo_proc in region_mutex_test, against the
// real calls in region_mutex_dragonfly_test (DragonFly only).
#include "backends/dragonfly/region_mutex.h"
#include "core/testing/shared_mutex_conformance.h"

// gtest requires the instantiation in the suite's namespace.
namespace sysv::core::testing {
INSTANTIATE_TYPED_TEST_SUITE_P(OwnerWordUmtx, SharedMutexConformanceTest,
                               ::sysv::dragonfly_backend::RegionMutex);
}  // namespace sysv::core::testing
