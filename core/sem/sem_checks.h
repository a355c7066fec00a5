// The checks a semaphore call makes against the object table before it
// touches the set, in the kernel's order. Clients run them on the mapped
// table (no daemon round trip).
#ifndef SYSV_CORE_SEM_SEM_CHECKS_H_
#define SYSV_CORE_SEM_SEM_CHECKS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/ipc/credentials.h"
#include "core/ipc/object_table.h"
#include "core/sem/sem_region.h"

namespace sysv::core {

// do_semtimedop()'s first checks on the arguments alone: E2BIG (more than
// SEMOPM operations) before EINVAL (none).
absl::Status CheckSemopCount(size_t nsops, uint32_t semopm);

// timespec64_valid(): a semtimedop timeout must have tv_sec >= 0 and
// 0 <= tv_nsec < 1e9 (EINVAL). Returns the timeout in nanoseconds.
absl::StatusOr<int64_t> SemTimeoutNanos(int64_t tv_sec, int64_t tv_nsec);

// semctl_setval()'s first check, before the id is looked up: ERANGE for a
// value outside [0, SEMVMX].
absl::Status CheckSetValValue(int value);

// A wait-for-zero-only semop reduced to the operations that decide it: the
// first operation of each (semaphore, IPC_NOWAIT) pair, in their order.
// perform_atomic_semop() stops at the first operation that cannot proceed
// and acts on its semaphore and its IPC_NOWAIT; a later operation with the
// same pair cannot fail first, so dropping it changes neither the result,
// nor which semaphore's GETZCNT counts the sleeper, nor the maximum
// semaphore number (EFBIG). Two or more operations never reduce to fewer
// than two (the first is repeated), so the call stays a "complex" one,
// queued where the kernel queues it. For a read-only caller, whose request
// to the daemon holds at most wire::kSemWaitZeroMaxOps operations.
// REQUIRES: every op is 0.
std::vector<SemOp> DistinctWaitForZero(absl::Span<const SemOp> sops);

// The live set `id` (EINVAL when the id names none).
absl::StatusOr<ObjectRecord> FindSemSet(const ObjectTable& table, int32_t id);

// __do_semtimedop() from the lookup to ipcperms(): EINVAL (no such set),
// EFBIG (a sem_num beyond the set), EACCES (write permission to alter, read
// permission for wait-for-zero only). `alter` tells the caller which.
absl::StatusOr<ObjectRecord> CheckSemop(const ObjectTable& table, int32_t id, absl::Span<const SemOp> sops,
                                        const Credentials& creds, bool* alter);

// semctl_main()/semctl_setval() up to the lock: EINVAL (no such set),
// EACCES (`access`: kAccessRead or kAccessWrite).
absl::StatusOr<ObjectRecord> CheckSemctl(const ObjectTable& table, int32_t id, int access,
                                         const Credentials& creds);

}  // namespace sysv::core

#endif  // SYSV_CORE_SEM_SEM_CHECKS_H_
