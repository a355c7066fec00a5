// Per-user quotas of one namespace: how many objects of all three kinds one
// user may hold, and how many bytes of segments and queue capacity.
//
// Linux has no per-user System V limit (only the namespace-wide SHMMNI,
// SEMMNI, MSGMNI, SHMALL and SEMMNS), so a daemon shared by several users
// lets any of them take every id. These quotas are the daemon's own
// addition, off by default (0 = unlimited), so that kernel-exact behaviour
// is unchanged unless configured (daemon/config.h: user_objects,
// user_bytes).
//
// Who is charged: the creator (perm.cuid), for the object's whole life.
// IPC_SET can change the owner (perm.uid) but never the creator, so the
// charge cannot be moved: charging the owner would let a user escape the
// quota, and fill someone else's, by giving objects away. Linux's POSIX
// message queues do the same with RLIMIT_MSGQUEUE (mqueue_get_inode()
// charges the creating user, and chown does not move it).
//
// What is charged (bytes): a segment its size (shm_segsz), a queue its
// capacity (msg_qbytes: what bounds the memory its region may grow to; a
// new queue starts at MSGMNB, and IPC_SET of msg_qbytes changes the charge),
// a semaphore set the bytes of its region (what the daemon allocates for it
// at semget: 278 KiB for a set of 3, mostly the arena its waiters' queues
// use; sem_region_bytes() below, which the daemon sets, says how many; 0
// until set).
//
// Also charged (bytes, no object): each live process's attach ledger, the
// bytes of its file (daemon/client_registry.h), to the uid that registered
// the process, from registration (and each growth) to its exit; a process
// re-adopted after a restart is charged to its effective uid then. Over
// user_bytes, registration or the growth fails with ENOMEM, which every
// call that may register or be granted a segment lists (shmget(2),
// semget(2), msgget(2): "not enough memory"; shmat(2): "Could not allocate
// memory for the descriptor").
//
// When: creation checks and charges, removal (the object table slot freed:
// for a segment that is the last detach after IPC_RMID, as the kernel's
// SHMALL accounting) releases, and the usage is rebuilt from the object
// tables when the daemon starts, so it survives restarts without files of
// its own.
//
// Errors: over either quota, a get that would create fails with ENOSPC,
// the errno of the kernel's namespace-wide counterparts (SHMMNI, SEMMNI,
// MSGMNI in ipc_addid(); SHMALL in newseg(); SEMMNS in newary()). Raising
// msg_qbytes past user_bytes fails with EPERM, the errno of raising it past
// MSGMNB (msgctl(2)). Every uid is subject to the quotas, root included: a
// quota is the administrator's explicit choice.
//
// Locking: none. The daemon calls it from its single event-loop thread.
#ifndef SYSV_CORE_IPC_USER_QUOTA_H_
#define SYSV_CORE_IPC_USER_QUOTA_H_

#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "core/ipc/limits.h"
#include "core/ipc/object_table.h"

namespace sysv::core {

class UserQuota {
 public:
  explicit UserQuota(const NamespaceLimits& limits) : limits_(limits.user), msgmnb_(limits.msg.msgmnb) {}

  struct Usage {
    int64_t objects = 0;
    uint64_t bytes = 0;
  };

  // The bytes `record`, an object of `kind`, is charged.
  uint64_t BytesOf(IpcKind kind, const ObjectRecord& record) const;
  // How many bytes a set of `nsems` semaphores takes (core/sem's layout,
  // which this library cannot see): the daemon sets it before any charge.
  using SemRegionBytes = uint64_t (*)(uint64_t nsems);
  void set_sem_region_bytes(SemRegionBytes fn) { sem_region_bytes_ = fn; }
  // The bytes a new object of `kind` is charged: a segment the size asked
  // for (`requested`), a queue MSGMNB (newque() starts msg_qbytes there), a
  // set its region for `requested` semaphores.
  uint64_t BytesOfNew(IpcKind kind, uint64_t requested) const;

  // Whether `uid` may create one more object, charged `bytes`. OK, or
  // ENOSPC naming the quota.
  absl::Status CheckNew(uint32_t uid, uint64_t bytes) const;
  // Whether `uid` may hold `bytes` more bytes (a queue's msg_qbytes
  // raised). OK, or EPERM naming the quota.
  absl::Status CheckGrowth(uint32_t uid, uint64_t bytes) const;

  // Adds a live object of `kind` to its creator's usage, or takes it away.
  void Charge(IpcKind kind, const ObjectRecord& record);
  void Release(IpcKind kind, const ObjectRecord& record);

  // Storage held for `uid` that is no object (an attach ledger): checked
  // against user_bytes (unless `even_over`: a live process re-adopted is
  // charged whatever it holds) and added, or ENOMEM. ReleaseStorage gives
  // it back.
  absl::Status ChargeStorage(uint32_t uid, uint64_t bytes, bool even_over = false);
  void ReleaseStorage(uint32_t uid, uint64_t bytes);

  Usage UsageOf(uint32_t uid) const;
  const UserLimits& limits() const { return limits_; }
  // MSGMNB changed (a sysctl write): what new queues are charged.
  void set_msgmnb(int32_t msgmnb) { msgmnb_ = msgmnb; }

 private:
  bool BytesFit(const Usage& usage, uint64_t bytes) const;

  UserLimits limits_;
  int32_t msgmnb_;
  SemRegionBytes sem_region_bytes_ = nullptr;
  absl::flat_hash_map<uint32_t, Usage> usage_;
};

}  // namespace sysv::core

#endif  // SYSV_CORE_IPC_USER_QUOTA_H_
