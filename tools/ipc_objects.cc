#include "tools/ipc_objects.h"

#include <cerrno>

#include "backends/ipc_abi.h"
#include "core/ipc/ipc_constants.h"
#include "core/msg/msg_registry.h"
#include "core/sem/sem_registry.h"

namespace sysv::tools {

namespace {

// `call` with the C library's number for the core's command `core_cmd`
// (`to_caller`), or -1 and EINVAL: what a kernel answers for a command it
// does not have.
template <typename Call>
int WithCallerCommand(int core_cmd, int (*to_caller)(int), Call call) {
  const int cmd = to_caller(core_cmd);
  if (cmd == abi::kNoSuchCommand) {
    errno = EINVAL;
    return -1;
  }
  return call(cmd);
}

}  // namespace

int ShmctlCore(const IpcApi& api, int shmid, int core_cmd, void* buf) {
  return WithCallerCommand(core_cmd, abi::ShmctlCallerCommand,
                           [&](int cmd) { return api.shmctl(shmid, cmd, static_cast<struct shmid_ds*>(buf)); });
}

int SemctlCore(const IpcApi& api, int semid, int semnum, int core_cmd, SemctlArg arg) {
  return WithCallerCommand(core_cmd, abi::SemctlCallerCommand,
                           [&](int cmd) { return api.semctl(semid, semnum, cmd, arg); });
}

int MsgctlCore(const IpcApi& api, int msqid, int core_cmd, void* buf) {
  return WithCallerCommand(core_cmd, abi::MsgctlCallerCommand,
                           [&](int cmd) { return api.msgctl(msqid, cmd, static_cast<struct msqid_ds*>(buf)); });
}

namespace {

// Room for what the *_INFO commands write through the shmid_ds/msqid_ds
// pointer the prototype declares: another struct, of the C library's.
union ShmBuffer {
  struct shmid_ds ds;
  unsigned char info[sizeof(abi::InfoBytes::data)];
};
union MsgBuffer {
  struct msqid_ds ds;
  unsigned char info[sizeof(abi::InfoBytes::data)];
};

IpcOwnership OwnershipOf(const struct ipc_perm& perm, int id) {
  IpcOwnership result;
  result.id = id;
  result.key = abi::KeyOf(perm);
  result.uid = perm.uid;
  result.gid = perm.gid;
  result.cuid = perm.cuid;
  result.cgid = perm.cgid;
  result.mode = perm.mode;
  return result;
}

// Reads the values of one set; false (and the failing call) on error.
bool ReadSemElements(const IpcApi& api, SemSet* set, SemListing* listing) {
  if (set->nsems == 0 || set->perm.id < 0) return true;
  set->elements.resize(set->nsems);
  for (uint64_t i = 0; i < set->nsems; ++i) {
    SemElement& element = set->elements[i];
    const int semnum = static_cast<int>(i);
    SemctlArg arg;
    arg.val = 0;
    struct Query {
      int cmd;
      const char* name;
      int* target;
    };
    int pid = 0;
    const Query queries[] = {
        {core::kGetVal, "semctl(GETVAL)", &element.value},
        {core::kGetNcnt, "semctl(GETNCNT)", &element.ncount},
        {core::kGetZcnt, "semctl(GETZCNT)", &element.zcount},
        {core::kGetPid, "semctl(GETPID)", &pid},
    };
    for (const Query& query : queries) {
      const int value = SemctlCore(api, set->perm.id, semnum, query.cmd, arg);
      if (value < 0) {
        listing->failed_errno = errno;
        listing->failed_call = query.name;
        return false;
      }
      *query.target = value;
    }
    element.pid = pid;
  }
  return true;
}

// *_STAT of one index. util-linux reads /proc/sysvipc on Linux, which lists
// every object whatever its permissions, while SHM_STAT fails with EACCES on
// an object the caller may not read; for those we ask again with
// SHM_STAT_ANY (Linux 4.17), so that the list is the one util-linux shows.
// Where *_STAT_ANY is unknown (EINVAL) the object is skipped, as in
// util-linux's own fallback. *denied tells that the plain *_STAT failed.
int StatShmIndex(const IpcApi& api, int index, struct shmid_ds* ds,
                 bool* denied) {
  int id = ShmctlCore(api, index, core::kShmStat, ds);
  *denied = id < 0 && errno == EACCES;
  if (*denied) id = ShmctlCore(api, index, core::kShmStatAny, ds);
  return id;
}

int StatSemIndex(const IpcApi& api, int index, struct semid_ds* ds,
                 bool* denied) {
  SemctlArg arg;
  arg.buf = ds;
  int id = SemctlCore(api, index, 0, core::kSemStat, arg);
  *denied = id < 0 && errno == EACCES;
  if (*denied) id = SemctlCore(api, index, 0, core::kSemStatAny, arg);
  return id;
}

int StatMsgIndex(const IpcApi& api, int index, struct msqid_ds* ds,
                 bool* denied) {
  int id = MsgctlCore(api, index, core::kMsgStat, ds);
  *denied = id < 0 && errno == EACCES;
  if (*denied) id = MsgctlCore(api, index, core::kMsgStatAny, ds);
  return id;
}

}  // namespace

int ShmMaxIndex(const IpcApi& api) {
  ShmBuffer buffer{};
  return ShmctlCore(api, 0, core::kShmInfo, &buffer);
}

int SemMaxIndex(const IpcApi& api) {
  abi::InfoBytes info{};
  SemctlArg arg;
  arg.info = info.data;
  return SemctlCore(api, 0, 0, core::kSemInfo, arg);
}

int MsgMaxIndex(const IpcApi& api) {
  MsgBuffer buffer{};
  return MsgctlCore(api, 0, core::kMsgInfo, &buffer);
}

std::vector<ShmSegment> ListShmSegments(const IpcApi& api, int id) {
  std::vector<ShmSegment> result;
  const int max_index = ShmMaxIndex(api);
  for (int index = 0; index <= max_index; ++index) {
    struct shmid_ds ds {};
    bool denied = false;
    const int shmid = StatShmIndex(api, index, &ds, &denied);
    if (shmid < 0 || (id > -1 && shmid != id)) continue;
    ShmSegment segment;
    segment.perm = OwnershipOf(ds.shm_perm, shmid);
    segment.segsz = ds.shm_segsz;
    segment.cpid = ds.shm_cpid;
    segment.lpid = ds.shm_lpid;
    segment.nattch = ds.shm_nattch;
    segment.atime = ds.shm_atime;
    segment.dtime = ds.shm_dtime;
    segment.ctime = ds.shm_ctime;
    result.push_back(segment);
    if (id > -1) break;
  }
  return result;
}

SemListing ListSemSets(const IpcApi& api, int id) {
  SemListing listing;
  const int max_index = SemMaxIndex(api);
  for (int index = 0; index <= max_index; ++index) {
    struct semid_ds ds {};
    bool denied = false;
    const int semid = StatSemIndex(api, index, &ds, &denied);
    if (semid < 0 || (id > -1 && semid != id)) continue;
    SemSet set;
    set.perm = OwnershipOf(ds.sem_perm, semid);
    set.nsems = ds.sem_nsems;
    set.otime = ds.sem_otime;
    set.ctime = ds.sem_ctime;
    if (id > -1) {
      if (!ReadSemElements(api, &set, &listing)) return listing;
      listing.sets.push_back(std::move(set));
      break;
    }
    listing.sets.push_back(std::move(set));
  }
  return listing;
}

std::vector<MsgQueue> ListMsgQueues(const IpcApi& api, int id) {
  std::vector<MsgQueue> result;
  const int max_index = MsgMaxIndex(api);
  for (int index = 0; index <= max_index; ++index) {
    struct msqid_ds ds {};
    bool denied = false;
    const int msqid = StatMsgIndex(api, index, &ds, &denied);
    if (msqid < 0 || (id > -1 && msqid != id)) continue;
    MsgQueue queue;
    queue.perm = OwnershipOf(ds.msg_perm, msqid);
    queue.cbytes = abi::MsgCbytes(ds);
    queue.qnum = ds.msg_qnum;
    queue.qbytes = ds.msg_qbytes;
    queue.lspid = ds.msg_lspid;
    queue.lrpid = ds.msg_lrpid;
    queue.readable = !denied;
    queue.stime = ds.msg_stime;
    queue.rtime = ds.msg_rtime;
    queue.ctime = ds.msg_ctime;
    result.push_back(queue);
    if (id > -1) break;
  }
  return result;
}

std::optional<ShmLimits> GetShmLimits(const IpcApi& api) {
  ShmBuffer buffer{};
  if (ShmctlCore(api, 0, core::kIpcInfo, &buffer) < 0) return std::nullopt;
  const ShmUsage info = abi::ShmReplyOfInfo(core::kIpcInfo, buffer.info);
  ShmLimits limits;
  limits.shmmni = info.shmmni;
  limits.shmmax = info.shmmax;
  limits.shmall = info.shmall;
  return limits;
}

std::optional<SemLimits> GetSemLimits(const IpcApi& api) {
  abi::InfoBytes bytes{};
  SemctlArg arg;
  arg.info = bytes.data;
  if (SemctlCore(api, 0, 0, core::kIpcInfo, arg) < 0) return std::nullopt;
  const SemUsage info = abi::SemReplyOfInfo(bytes.data);
  SemLimits limits;
  limits.semmni = info.semmni;
  limits.semmsl = info.semmsl;
  limits.semmns = info.semmns;
  limits.semopm = info.semopm;
  return limits;
}

std::optional<MsgLimits> GetMsgLimits(const IpcApi& api) {
  MsgBuffer buffer{};
  if (MsgctlCore(api, 0, core::kIpcInfo, &buffer) < 0) return std::nullopt;
  const MsgUsage info = abi::MsgReplyOfInfo(buffer.info);
  MsgLimits limits;
  limits.msgmni = info.msgmni;
  limits.msgmax = static_cast<uint64_t>(static_cast<int64_t>(info.msgmax));
  limits.msgmnb = info.msgmnb;
  return limits;
}

std::optional<ShmUsage> GetShmInfo(const IpcApi& api) {
  ShmBuffer buffer{};
  if (ShmctlCore(api, 0, core::kShmInfo, &buffer) < 0) return std::nullopt;
  return abi::ShmReplyOfInfo(core::kShmInfo, buffer.info);
}

std::optional<SemUsage> GetSemInfo(const IpcApi& api) {
  abi::InfoBytes bytes{};
  SemctlArg arg;
  arg.info = bytes.data;
  if (SemctlCore(api, 0, 0, core::kSemInfo, arg) < 0) return std::nullopt;
  return abi::SemReplyOfInfo(bytes.data);
}

std::optional<MsgUsage> GetMsgInfo(const IpcApi& api) {
  MsgBuffer buffer{};
  if (MsgctlCore(api, 0, core::kMsgInfo, &buffer) < 0) return std::nullopt;
  return abi::MsgReplyOfInfo(buffer.info);
}

}  // namespace sysv::tools
