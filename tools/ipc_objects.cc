#include "tools/ipc_objects.h"

#include <cerrno>

namespace sysv::tools {
namespace {

// Buffers for the *_INFO commands, which write a different struct through
// the shmid_ds/msqid_ds pointer the prototype declares.
union ShmBuffer {
  struct shmid_ds ds;
  struct shminfo limits;
  struct shm_info info;
};
union MsgBuffer {
  struct msqid_ds ds;
  struct msginfo info;
};

IpcOwnership OwnershipOf(const struct ipc_perm& perm, int id) {
  IpcOwnership result;
  result.id = id;
  result.key = perm.__key;
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
        {GETVAL, "semctl(GETVAL)", &element.value},
        {GETNCNT, "semctl(GETNCNT)", &element.ncount},
        {GETZCNT, "semctl(GETZCNT)", &element.zcount},
        {GETPID, "semctl(GETPID)", &pid},
    };
    for (const Query& query : queries) {
      const int value = api.semctl(set->perm.id, semnum, query.cmd, arg);
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
  int id = api.shmctl(index, SHM_STAT, ds);
  *denied = id < 0 && errno == EACCES;
  if (*denied) id = api.shmctl(index, SHM_STAT_ANY, ds);
  return id;
}

int StatSemIndex(const IpcApi& api, int index, struct semid_ds* ds,
                 bool* denied) {
  SemctlArg arg;
  arg.buf = ds;
  int id = api.semctl(index, 0, SEM_STAT, arg);
  *denied = id < 0 && errno == EACCES;
  if (*denied) id = api.semctl(index, 0, SEM_STAT_ANY, arg);
  return id;
}

int StatMsgIndex(const IpcApi& api, int index, struct msqid_ds* ds,
                 bool* denied) {
  int id = api.msgctl(index, MSG_STAT, ds);
  *denied = id < 0 && errno == EACCES;
  if (*denied) id = api.msgctl(index, MSG_STAT_ANY, ds);
  return id;
}

}  // namespace

int ShmMaxIndex(const IpcApi& api) {
  ShmBuffer buffer{};
  return api.shmctl(0, SHM_INFO, &buffer.ds);
}

int SemMaxIndex(const IpcApi& api) {
  struct seminfo info {};
  SemctlArg arg;
  arg.info = &info;
  return api.semctl(0, 0, SEM_INFO, arg);
}

int MsgMaxIndex(const IpcApi& api) {
  MsgBuffer buffer{};
  return api.msgctl(0, MSG_INFO, &buffer.ds);
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
    queue.cbytes = ds.__msg_cbytes;
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
  if (api.shmctl(0, IPC_INFO, &buffer.ds) < 0) return std::nullopt;
  ShmLimits limits;
  limits.shmmni = buffer.limits.shmmni;
  limits.shmmax = buffer.limits.shmmax;
  limits.shmall = buffer.limits.shmall;
  return limits;
}

std::optional<SemLimits> GetSemLimits(const IpcApi& api) {
  struct seminfo info {};
  SemctlArg arg;
  arg.info = &info;
  if (api.semctl(0, 0, IPC_INFO, arg) < 0) return std::nullopt;
  SemLimits limits;
  limits.semmni = info.semmni;
  limits.semmsl = info.semmsl;
  limits.semmns = info.semmns;
  limits.semopm = info.semopm;
  return limits;
}

std::optional<MsgLimits> GetMsgLimits(const IpcApi& api) {
  MsgBuffer buffer{};
  if (api.msgctl(0, IPC_INFO, &buffer.ds) < 0) return std::nullopt;
  MsgLimits limits;
  limits.msgmni = buffer.info.msgmni;
  limits.msgmax = static_cast<uint64_t>(static_cast<int64_t>(buffer.info.msgmax));
  limits.msgmnb = buffer.info.msgmnb;
  return limits;
}

std::optional<struct shm_info> GetShmInfo(const IpcApi& api) {
  ShmBuffer buffer{};
  if (api.shmctl(0, SHM_INFO, &buffer.ds) < 0) return std::nullopt;
  return buffer.info;
}

std::optional<struct seminfo> GetSemInfo(const IpcApi& api) {
  struct seminfo info {};
  SemctlArg arg;
  arg.info = &info;
  if (api.semctl(0, 0, SEM_INFO, arg) < 0) return std::nullopt;
  return info;
}

std::optional<struct msginfo> GetMsgInfo(const IpcApi& api) {
  MsgBuffer buffer{};
  if (api.msgctl(0, MSG_INFO, &buffer.ds) < 0) return std::nullopt;
  return buffer.info;
}

}  // namespace sysv::tools
