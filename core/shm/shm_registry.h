// System V shared memory: the table side (shmget, shmctl, the checks of a
// first shmat), run by the daemon.
//
// User space visible behavior (as Linux ipc/shm.c):
//   - Sizes are bytes; a segment occupies whole pages, counted in shm_tot
//     against SHMALL until it is destroyed.
//   - IPC_RMID of an attached segment marks it SHM_DEST and makes its key
//     private; it is destroyed when its last attachment goes (shmdt, exit,
//     exec). Linux lets a process still attach such a segment by id.
//   - shm_nattch counts attachments of live processes: every shmat, and the
//     attachments a forked child inherits.
//
// Internals:
//   - The segment's record lives in the shm object table. shm_nattch and the
//     latest attach/detach are not stored there: each process keeps its own
//     attach ledger (core/shm/attach_ledger.h) and a Census sums them on
//     demand, each only for the segments its process was granted. When a process dies its ledger is folded into the record.
//   - The record's fields: size = shm_segsz; atime/dtime = the latest
//     attach/detach folded from dead processes' ledgers; last_op_ns orders
//     those events so shm_lpid names the latest; aux0 = pages (of 4 KiB,
//     counted in shm_tot); aux1 = the huge page size of an SHM_HUGETLB
//     segment, 0 otherwise.
//   - Destroying a removed segment runs the LEDGER_BARRIER_ATTACH protocol:
//     mark the entry kDying, then sum the ledgers; a racing shmat either is
//     counted or sees kDying.
//
// Locking: none; the daemon's single event-loop thread calls everything.
#ifndef SYSV_CORE_SHM_SHM_REGISTRY_H_
#define SYSV_CORE_SHM_SHM_REGISTRY_H_

#include <cstdint>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "core/ipc/ipc_registry.h"
#include "core/ipc/limits.h"
#include "core/shm/attach_ledger.h"
#include "core/shm/shm_grants.h"
#include "core/shm/shm_stat.h"
#include "core/shm/shm_types.h"

namespace sysv::core {

// shm_more_checks(): shmget of an existing segment asking for more than its
// size is EINVAL. Shared by the daemon and the client's LocalGet.
absl::Status ShmMoreChecks(const ObjectRecord& record, uint64_t size);

class ShmRegistry {
 public:
  // Where segment contents live (the daemon's region files).
  class Backing {
   public:
    virtual ~Backing() = default;
    virtual absl::Status Create(int32_t index, uint32_t seq, uint64_t bytes) = 0;
    virtual void Destroy(int32_t index, uint32_t seq) = 0;
    // Pages of the segment resident in memory (shm_rss).
    virtual uint64_t ResidentPages(int32_t index, uint32_t seq) = 0;

    // The system's huge pages of 2^size_log bytes (size_log 0: the default
    // size), or nullopt when it has no such size. SHM_HUGETLB segments are
    // admitted as the kernel admits them; their contents live in ordinary
    // pages all the same.
    struct HugePages {
      uint64_t page_size = 0;
      uint64_t free_pages = 0;  // not yet reserved
    };
    virtual std::optional<HugePages> HugePagesOf(int size_log) = 0;
    // vm.hugetlb_shm_group: members may create SHM_HUGETLB segments.
    virtual uint32_t HugetlbShmGroup() = 0;
  };

  // The attachments of live processes, summed over their ledgers.
  using CensusResult = ShmCensus;
  // Counts, for each live process, only segments that process was granted
  // (core/shm/shm_grants.h): a ledger is its process's claim.
  class Census {
   public:
    virtual ~Census() = default;
    virtual CensusResult Count(int32_t index, uint32_t seq) = 0;
    // Segment (index, seq) was destroyed: no process holds a grant of it
    // any more (its index and, once seq wraps, its id come back).
    virtual void Forget(int32_t index, uint32_t seq) = 0;
    // Who holds a grant of the segment at `index` (ObjectRecord::holder): 0
    // nobody, a pid, or kManyHolders. The default never lets a client
    // answer a stat alone.
    virtual int32_t HolderOf(int32_t /*index*/) { return kManyHolders; }
  };

  ShmRegistry(IpcRegistry& ids, const ShmLimits& limits, Backing& backing, Census& census);

  // shmget(2). Errors as ipc/shm.c:newseg() and shm_more_checks(): EINVAL
  // (size out of [SHMMIN, SHMMAX], or larger than an existing segment),
  // ENOSPC (SHMALL pages or SHMMNI ids exhausted), plus IpcRegistry::Get's.
  absl::StatusOr<int32_t> Get(Key key, uint64_t size, int flags, const OpContext& ctx);

  // shmctl(2) for every command. `memlock_limit` is the caller's
  // RLIMIT_MEMLOCK in bytes (UINT64_MAX for unlimited), used by SHM_LOCK.
  // Errors: EINVAL (bad cmd, negative id, unknown id, invalid IPC_SET uid or
  // gid), EACCES (stat without read permission), EPERM (IPC_SET/IPC_RMID by
  // other than owner or creator, SHM_LOCK/SHM_UNLOCK without ownership or
  // with a zero RLIMIT_MEMLOCK), ENOMEM (SHM_LOCK over RLIMIT_MEMLOCK).
  absl::StatusOr<ShmCtlResult> Ctl(int32_t id, int cmd, const ShmSetArgs& set,
                                   uint64_t memlock_limit, const OpContext& ctx);

  // The checks of do_shmat() up to the mapping: EINVAL (negative or unknown
  // id), EACCES (read, plus write unless SHM_RDONLY, plus execute with
  // SHM_EXEC). Returns the record of the segment to map.
  absl::StatusOr<ObjectRecord> CheckAttach(int32_t id, int shmflg, const OpContext& ctx) const;

  // Folds a dead (or exec'd) process's ledger into the segments' records:
  // every segment it still had attached gets shm_dtime = now and shm_lpid =
  // pid, as the kernel's detach at exit does. Only segments in `grants`
  // (those the process held) are folded: the rest of the ledger is claims.
  // Then destroys removed segments left without attachments.
  void AbsorbLedger(const AttachLedger& ledger, const ShmGrants& grants, int32_t pid, int64_t now_ns);

  // Writes the census's HolderOf(index) into the segment's entry, if it is
  // live and says otherwise. Call whenever a process gains or loses a
  // grant of it.
  void PublishHolder(int32_t index);

  // Destroys every SHM_DEST segment whose attachments are all gone. Called
  // before answering any shm request, so a caller never observes one.
  void SweepRemoved();

  uint64_t total_pages() const { return total_pages_; }

  // Pages a segment of `bytes` occupies.
  static uint64_t PagesFor(uint64_t bytes);
  // Bytes of the region (and of every mapping) of a segment: whole pages,
  // or whole huge pages for an SHM_HUGETLB one.
  static uint64_t RegionBytes(const ObjectRecord& record);
  // The alignment of every mapping's address: the page or huge page size.
  static uint64_t MappingAlignment(const ObjectRecord& record);

 private:
  absl::StatusOr<ShmCtlResult> Stat(int32_t id, int cmd, const OpContext& ctx);
  void DestroyIfUnattached(int32_t index);

  IpcRegistry& ids_;
  const ShmLimits& limits_;
  Backing& backing_;
  Census& census_;
  uint64_t total_pages_ = 0;
  // Indexes of SHM_DEST segments still waiting for their last detach.
  absl::flat_hash_set<int32_t> removed_;
};

// shmctl(IPC_INFO) (shmctl_ipc_info()): the limits and, as the value, the
// highest index in use (0 when none).
ShmCtlResult ShmIpcInfoOf(const ShmLimits& limits, int32_t max_index);

// IPC_INFO answered from what the daemon published in `table`'s header (a
// null `table`: not mapped yet)
// (ObjectTable::ReadInfo), through ShmIpcInfoOf as the daemon answers it.
// nullopt (ask the daemon): nothing published, or SHM_INFO, whose resident
// page count only the daemon can take.
std::optional<ShmCtlResult> LocalShmInfo(const ObjectTable* table, int cmd);

// The fast-path half of shmat, run by a client on the mapped object table for
// a segment it already holds a descriptor for. Mirrors the checks of
// ShmRegistry::CheckAttach exactly, so both paths give the same answers.
enum class FastAttachVerdict {
  kAttach,     // permitted: map it
  kAskDaemon,  // cannot decide here (entry busy or dying): take the daemon path
};
absl::StatusOr<FastAttachVerdict> CheckFastAttach(const ObjectTable& table, int32_t id,
                                                  int shmflg, const Credentials& creds);

}  // namespace sysv::core

#endif  // SYSV_CORE_SHM_SHM_REGISTRY_H_
