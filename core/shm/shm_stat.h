// shmctl's IPC_STAT, SHM_STAT and SHM_STAT_ANY, computed the same way by the
// daemon (over every live process's ledger) and by a client on the mapped
// shm table (over its own ledger alone, when the table says no other
// process's ledger counts).
//
// Why a client may answer alone: shm_nattch, shm_atime, shm_dtime and
// shm_lpid are the segment's record (what dead processes' ledgers folded
// into it) plus the census of live processes, and the census believes a
// ledger only for a segment its process holds a grant of. The daemon
// publishes who holds grants in the table entry (ObjectRecord::holder):
// when nobody does, or this process alone, the record plus this process's
// ledger is exactly what the daemon's census would sum. Anything else (other
// holders, an entry being rewritten, a dying or removed segment the daemon
// might destroy first) is left to the daemon.
#ifndef SYSV_CORE_SHM_SHM_STAT_H_
#define SYSV_CORE_SHM_SHM_STAT_H_

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "core/ipc/credentials.h"
#include "core/ipc/object_table.h"
#include "core/shm/attach_ledger.h"
#include "core/shm/shm_types.h"

namespace sysv::core {

// The attachments of live processes to one segment, summed over the ledgers
// the census believes.
struct ShmCensus {
  int64_t nattch = 0;
  int64_t last_attach_ns = 0;
  int32_t last_attach_pid = 0;
  int64_t last_detach_ns = 0;
  int32_t last_detach_pid = 0;

  // Adds what process `pid`'s ledger says about the segment.
  void Add(int32_t pid, const LedgerSummary& summary);
};

// struct shmid_ds of the segment whose table record is `record`, given the
// census of live processes.
ShmStat ShmStatOf(const ObjectRecord& record, const ShmCensus& live);

// A client's own process, as the census knows it: its pid and its ledger.
struct OwnLedger {
  int32_t pid = 0;
  const AttachLedger* ledger = nullptr;  // nullptr before registration
};

// The *_STAT commands of shmctl(2) answered from `table` without the
// daemon, with the daemon's checks in its order: EINVAL (negative or
// unknown id, a free index), EACCES (IPC_STAT and SHM_STAT without read
// permission). `cmd` is kIpcStat, kShmStat or kShmStatAny. Returns nullopt
// when only the daemon can answer exactly (see the file comment); the
// result's value is 0 for IPC_STAT and the id for the by-index commands.
absl::StatusOr<std::optional<ShmCtlResult>> LocalShmStat(const ObjectTable& table, int32_t id, int cmd,
                                                        const Credentials& creds, const OwnLedger& own);

}  // namespace sysv::core

#endif  // SYSV_CORE_SHM_SHM_STAT_H_
