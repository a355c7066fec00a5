// The shared memory requests: decode is done, so this maps each request to
// core::ShmRegistry and encodes the answer.
#ifndef SYSV_DAEMON_SHM_SERVICE_H_
#define SYSV_DAEMON_SHM_SERVICE_H_

#include <functional>
#include <memory>

#include "core/ipc/ipc_registry.h"
#include "core/ipc/limits.h"
#include "core/protocol/wire.h"
#include "core/shm/shm_grants.h"
#include "core/shm/shm_registry.h"
#include "daemon/reply.h"
#include "daemon/shm_store.h"

namespace sysv::daemon {

class ShmService {
 public:
  // `census` counts attachments from the clients' ledgers; with `driver`
  // (the security driver, or nullptr) the driver's own counts replace it.
  ShmService(core::ObjectTable table, const core::NamespaceLimits& limits, core::UserQuota* quota,
             int shm_dir_fd, core::ShmRegistry::Census& census, platform::SecurityDriver* driver,
             SealedObjects* sealed);

  Reply Get(uint32_t request_id, const core::wire::ShmGetRequest& request,
            const core::OpContext& ctx);
  // On success the caller's process holds a descriptor of the segment:
  // `granted` (if given) records it, before the reply goes out, after
  // `make_room(index)` made room for its entry in that process's ledger
  // (ClientRegistry::MakeRoom; its error, ENOMEM, fails the shmat).
  Reply Attach(uint32_t request_id, const core::wire::ShmAttachRequest& request,
               const core::OpContext& ctx, core::ShmGrants* granted,
               const std::function<absl::Status(int32_t index)>& make_room);
  // `memlock_limit`: the caller's RLIMIT_MEMLOCK as the daemon read it from
  // the kernel (SHM_LOCK); the request's own field is never believed.
  Reply Ctl(uint32_t request_id, const core::wire::ShmCtlRequest& request, uint64_t memlock_limit,
            const core::OpContext& ctx);

  // Republishes who holds grants of segment `index` (ShmRegistry::PublishHolder).
  void PublishHolder(int32_t index) { registry_.PublishHolder(index); }
  // The same for every live segment (at start, after grants were recovered).
  void PublishAllHolders();

  Reply Sweep(uint32_t request_id, const core::wire::ShmSweepRequest& request);

  // A process's attachments ended (exit or exec): fold its ledger, for the
  // segments it held (`grants`).
  void Absorb(const core::AttachLedger& ledger, const core::ShmGrants& grants, int32_t pid, int64_t now_ns);
  // The grants of live process `pid` (started at `start_time`) that this
  // daemon, restarted, cannot remember: the live segments it holds
  // descriptors of now, each with the access of its widest descriptor.
  // Conservative: a process whose descriptors cannot be read (a daemon that
  // is neither root nor its user; a process that is not dumpable) or that
  // is gone gets none, and its attachments are not counted.
  // `files`: SegmentFiles(), read once for all the processes recovered.
  core::ShmGrants RecoverGrants(int32_t pid, uint64_t start_time, const ShmStore::SegmentFileMap& files);
  ShmStore::SegmentFileMap SegmentFiles() { return store_.SegmentFiles(); }
  // Removes segment files no table entry names. Run once at start.
  void RemoveOrphans();
  // The driver reported last detaches (its descriptor is readable): removed
  // segments nobody maps any more are destroyed now.
  void OnDriverEvents();
  // A client changed segment file `name` through its descriptor
  // (platform::FileChangeWatch): back to the segment's own size.
  void TakeBack(const std::string& name);
  int dir_fd() const { return store_.dir_fd(); }

  // The id registry, whose *MNI limit and next id the sysctls set
  // (daemon/sysctl_service.h).
  core::IpcRegistry& ids() { return ids_; }

 private:
  // The census where the security driver is loaded: nattch, atime, dtime
  // and lpid are what the driver's mapping callbacks counted (facts no
  // client can forge); no ledger is read.
  class DriverCensus : public core::ShmRegistry::Census {
   public:
    explicit DriverCensus(ShmStore& store) : store_(store) {}
    core::ShmRegistry::CensusResult Count(int32_t index, uint32_t seq) override;
    void Forget(int32_t, uint32_t) override {}

   private:
    ShmStore& store_;
  };

  // After a successful shmctl: tells the driver of IPC_RMID, SHM_LOCK and
  // SHM_UNLOCK. Returns `done`, or SHM_LOCK's ENOMEM when the user's locked
  // segments together exceed RLIMIT_MEMLOCK.
  absl::StatusOr<core::ShmCtlResult> DriverCtl(const core::wire::ShmCtlRequest& request,
                                               uint64_t memlock_limit, const core::OpContext& ctx,
                                               const core::ShmCtlResult& done);

  const core::NamespaceLimits& limits_;
  ShmStore store_;
  DriverCensus driver_census_;
  core::IpcRegistry ids_;
  core::ShmRegistry registry_;
};

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_SHM_SERVICE_H_
