// RegionMutex: the mutex in every semaphore set's and message queue's region
// on Linux. core/owner_word_mutex.h has the algorithm and its reasons
// (nothing but the owner's identity in shared memory, owner death found by
// probing); this backend supplies the futex sleep and the /proc probe.
//
// Cost (region_mutex_benchmark, 2-CPU VM): see the figures printed by
//   bazel run -c opt //backends/linux:region_mutex_benchmark
// An uncontended Lock+Unlock is two atomic read-modify-writes and a
// thread-local read; glibc's robust mutex also links the mutex into the
// thread's robust list on every lock.
#ifndef SYSV_BACKENDS_LINUX_REGION_MUTEX_H_
#define SYSV_BACKENDS_LINUX_REGION_MUTEX_H_

#include "backends/linux/futex_waiter.h"
#include "backends/linux/lock_owner_probe.h"
#include "core/owner_word_mutex.h"
#include "core/shared_mutex.h"

namespace sysv::linux_backend {

using RegionMutex = core::OwnerWordMutex<FutexWaiter, LockOwnerProbe>;

static_assert(core::SharedMutex<RegionMutex>);

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_REGION_MUTEX_H_
