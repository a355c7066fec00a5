// The semaphore requests: semget, the first access to a set, and the semctl
// commands the daemon answers; plus the exit-time work for dead clients.
#ifndef SYSV_DAEMON_SEM_SERVICE_H_
#define SYSV_DAEMON_SEM_SERVICE_H_

#include <cstdint>
#include <vector>

#include "core/ipc/ipc_registry.h"
#include "core/ipc/limits.h"
#include "core/protocol/wire.h"
#include "core/sem/sem_registry.h"
#include "daemon/held_waits.h"
#include "daemon/pending_exits.h"
#include "daemon/reply.h"
#include "daemon/sem_store.h"

namespace sysv::daemon {

// A request that needs a set's lock the daemon cannot have at once (it
// never waits for one) does nothing and answers Reply::busy; the server asks
// again later.
class SemService {
 public:
  // `sealed`: the sealed regions of every kind (outlives the service).
  SemService(core::ObjectTable table, const core::NamespaceLimits& limits, core::UserQuota* quota, int sem_dir_fd,
             SealedObjects* sealed);
  // Checks the regions of the live sets, sealed ones (from the fd keeper)
  // and files, and removes those no live set names: once, at daemon
  // start, after `sealed` has its keeper (SealedObjects::UseKeeper).
  void Recover();

  Reply Get(uint32_t request_id, const core::wire::SemGetRequest& request, const core::OpContext& ctx);
  // Grants the set's region; `opened` is told the set's index, so the
  // caller can remember which sets a process uses.
  Reply Open(uint32_t request_id, const core::wire::SemOpenRequest& request, const core::OpContext& ctx,
             int32_t* opened);
  Reply Ctl(uint32_t request_id, const core::wire::SemCtlRequest& request, const core::OpContext& ctx);
  // semop for a caller with read permission only (wait-for-zero), run here
  // because its mapping is read-only (core::SemSet::StartFor/EndFor). The
  // caller's process start time names its SEM_UNDO record.
  // Waits held here are bounded as the kernel bounds sleepers: at most one
  // per thread (the request names its thread, which must be the caller's:
  // EINVAL otherwise; a thread's new request ends the wait it left behind,
  // as EINTR), and at most UserLimits::waits per user on one set (ENOMEM
  // beyond, as when the set has no room), so that one reader cannot fill a
  // set's arena and leave its owner's semop ENOMEM.
  Reply WaitZero(uint32_t request_id, const core::wire::SemWaitZeroRequest& request, const core::OpContext& ctx,
                 uint64_t start_time);
  Reply WaitZeroEnd(uint32_t request_id, const core::wire::SemWaitZeroEndRequest& request,
                    const core::OpContext& ctx);

  // exit_sem() for a dead process, over the sets it opened (every set when
  // `sets` is null: a process this daemon re-adopted after a restart).
  // Work on a set whose lock is busy is kept for RetryPendingExits().
  void ProcessExited(int32_t pid, uint64_t start_time, const std::vector<int32_t>* sets);
  // Repairs the regions whose mappings faulted (a client cut their files
  // short under the daemon): see the store's RepairFaulted().
  void RepairFaulted() { store_.RepairFaulted(); }
  // One background pass over the exit work that found a set's lock busy
  // (daemon/pending_exits.h), run by the server's retry timer, never in
  // front of a request. Returns whether any of it was done.
  bool RetryPendingExits();
  bool HasPendingExits() const { return !pending_exits_.empty(); }

  // A client changed region file `name` through its descriptor
  // (platform::FileChangeWatch): see the store's Trim().
  void TakeBack(const std::string& name) { store_.Trim(name); }
  int dir_fd() const { return store_.dir_fd(); }

  // The id registry, whose *MNI limit and next id the sysctls set
  // (daemon/sysctl_service.h).
  core::IpcRegistry& ids() { return ids_; }

 private:
  // The value reads of a caller with read permission only (Ctl()). A GETALL
  // too large for the reply sends its values as a sealed snapshot in `fds`.
  // Returns true when the set's lock was busy (nothing was read).
  bool ReadValues(const core::wire::SemCtlRequest& request, const core::OpContext& ctx,
                  core::wire::SemCtlReply& body, std::vector<backend::UniqueFd>& fds);
  // Returns false when the set's lock was busy (the work is then pending).
  bool ExitOnSet(int32_t pid, uint64_t start_time, int32_t index, uint32_t seq, core::SemSet& set);

  PendingExits pending_exits_;
  HeldWaits held_waits_;
  const core::NamespaceLimits& limits_;
  SemStore store_;
  core::IpcRegistry ids_;
  core::SemRegistry registry_;
};

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_SEM_SERVICE_H_
