// RegionMutex: the mutex in every semaphore set's and message queue's region
// on DragonFly. core/owner_word_mutex.h has the algorithm and its reasons
// (nothing but the owner's identity in shared memory, owner death found by
// probing); this backend supplies the umtx sleep (umtx_waiter.h) and the
// kinfo_proc probe (lock_owner_probe.h). Both are portable over their
// system-call shims, so on Linux the same mutex runs over the doubles.
//
// umtx_sleep cannot sleep on a read-only mapping (umtx_waiter.h); lockers
// always map the lock words writable (only they take the lock), so this
// mutex always sleeps.
#ifndef SYSV_BACKENDS_DRAGONFLY_REGION_MUTEX_H_
#define SYSV_BACKENDS_DRAGONFLY_REGION_MUTEX_H_

#include "backends/dragonfly/lock_owner_probe.h"
#include "backends/dragonfly/umtx_waiter.h"
#include "core/owner_word_mutex.h"
#include "core/shared_mutex.h"

namespace sysv::dragonfly_backend {

using RegionMutex = core::OwnerWordMutex<UmtxWaiter, LockOwnerProbe>;

static_assert(core::SharedMutex<RegionMutex>);

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_REGION_MUTEX_H_
