#include "tools/ipc_objects.h"

#include <cerrno>

#include "backends/ipc_abi.h"
#include "backends/ipc_stat_replies.h"
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

bool IsInfo(int core_cmd, int type_info) { return core_cmd == core::kIpcInfo || core_cmd == type_info; }

// The ownership fields of a reply. The key is the protocol's 32 bits, read
// back as a key_t the way the C library's IPC_STAT gives it; the mode as
// struct ipc_perm's unsigned short holds it.
IpcOwnership OwnershipOf(const core::wire::WirePerm& perm, int id) {
  IpcOwnership result;
  result.id = id;
  result.key = static_cast<key_t>(perm.key);
  result.uid = perm.uid;
  result.gid = perm.gid;
  result.cuid = perm.cuid;
  result.cgid = perm.cgid;
  result.mode = static_cast<unsigned short>(perm.mode);
  return result;
}

// Reads the values of one set; false (and the failing call) on error.
bool ReadSemElements(const IpcApi& api, SemSet* set, SemListing* listing) {
  if (set->nsems == 0 || set->perm.id < 0) return true;
  set->elements.resize(set->nsems);
  for (uint64_t i = 0; i < set->nsems; ++i) {
    SemElement& element = set->elements[i];
    const int semnum = static_cast<int>(i);
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
      SemUsage unused{};
      const int value = SemRead(api, set->perm.id, semnum, query.cmd, &unused);
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
template <typename Reply, typename Read>
int StatIndex(int stat, int stat_any, Reply* reply, bool* denied, Read read) {
  int id = read(stat, reply);
  *denied = id < 0 && errno == EACCES;
  if (*denied) id = read(stat_any, reply);
  return id;
}

int StatShmIndex(const IpcApi& api, int index, ShmUsage* reply, bool* denied) {
  return StatIndex(core::kShmStat, core::kShmStatAny, reply, denied,
                   [&](int cmd, ShmUsage* out) { return ShmRead(api, index, cmd, out); });
}

int StatSemIndex(const IpcApi& api, int index, SemUsage* reply, bool* denied) {
  return StatIndex(core::kSemStat, core::kSemStatAny, reply, denied,
                   [&](int cmd, SemUsage* out) { return SemRead(api, index, 0, cmd, out); });
}

int StatMsgIndex(const IpcApi& api, int index, MsgUsage* reply, bool* denied) {
  return StatIndex(core::kMsgStat, core::kMsgStatAny, reply, denied,
                   [&](int cmd, MsgUsage* out) { return MsgRead(api, index, cmd, out); });
}

}  // namespace

int ShmRead(const IpcApi& api, int shmid, int core_cmd, ShmUsage* reply) {
  if (api.shmctl_reply != nullptr) return api.shmctl_reply(shmid, core_cmd, reply);
  ShmBuffer buffer{};
  const int result = ShmctlCore(api, shmid, core_cmd, &buffer);
  if (result < 0) return result;
  if (IsInfo(core_cmd, core::kShmInfo)) {
    *reply = abi::ShmReplyOfInfo(core_cmd, buffer.info);
    return result;
  }
  *reply = abi::ShmReplyOf(buffer.ds);
  return result;
}

int SemRead(const IpcApi& api, int semid, int semnum, int core_cmd, SemUsage* reply) {
  if (api.semctl_reply != nullptr) return api.semctl_reply(semid, semnum, core_cmd, reply);
  struct semid_ds ds {};
  abi::InfoBytes info{};
  SemctlArg arg;
  if (IsInfo(core_cmd, core::kSemInfo)) {
    arg.info = info.data;
  } else {
    arg.buf = &ds;
  }
  const int result = SemctlCore(api, semid, semnum, core_cmd, arg);
  if (result < 0) return result;
  *reply = IsInfo(core_cmd, core::kSemInfo) ? abi::SemReplyOfInfo(info.data) : abi::SemReplyOf(ds);
  return result;
}

int MsgRead(const IpcApi& api, int msqid, int core_cmd, MsgUsage* reply) {
  if (api.msgctl_reply != nullptr) return api.msgctl_reply(msqid, core_cmd, reply);
  MsgBuffer buffer{};
  const int result = MsgctlCore(api, msqid, core_cmd, &buffer);
  if (result < 0) return result;
  if (IsInfo(core_cmd, core::kMsgInfo)) {
    *reply = abi::MsgReplyOfInfo(buffer.info);
    return result;
  }
  *reply = abi::MsgReplyOf(buffer.ds);
  return result;
}

int ShmMaxIndex(const IpcApi& api) {
  ShmUsage reply{};
  return ShmRead(api, 0, core::kShmInfo, &reply);
}

int SemMaxIndex(const IpcApi& api) {
  SemUsage reply{};
  return SemRead(api, 0, 0, core::kSemInfo, &reply);
}

int MsgMaxIndex(const IpcApi& api) {
  MsgUsage reply{};
  return MsgRead(api, 0, core::kMsgInfo, &reply);
}

std::vector<ShmSegment> ListShmSegments(const IpcApi& api, int id) {
  std::vector<ShmSegment> result;
  const int max_index = ShmMaxIndex(api);
  for (int index = 0; index <= max_index; ++index) {
    ShmUsage reply{};
    bool denied = false;
    const int shmid = StatShmIndex(api, index, &reply, &denied);
    if (shmid < 0 || (id > -1 && shmid != id)) continue;
    ShmSegment segment;
    segment.perm = OwnershipOf(reply.perm, shmid);
    segment.segsz = reply.segsz;
    segment.cpid = reply.cpid;
    segment.lpid = reply.lpid;
    segment.nattch = reply.nattch;
    segment.atime = reply.atime;
    segment.dtime = reply.dtime;
    segment.ctime = reply.ctime;
    result.push_back(segment);
    if (id > -1) break;
  }
  return result;
}

SemListing ListSemSets(const IpcApi& api, int id) {
  SemListing listing;
  const int max_index = SemMaxIndex(api);
  for (int index = 0; index <= max_index; ++index) {
    SemUsage reply{};
    bool denied = false;
    const int semid = StatSemIndex(api, index, &reply, &denied);
    if (semid < 0 || (id > -1 && semid != id)) continue;
    SemSet set;
    set.perm = OwnershipOf(reply.perm, semid);
    set.nsems = reply.nsems;
    set.otime = reply.otime;
    set.ctime = reply.ctime;
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
    MsgUsage reply{};
    bool denied = false;
    const int msqid = StatMsgIndex(api, index, &reply, &denied);
    if (msqid < 0 || (id > -1 && msqid != id)) continue;
    MsgQueue queue;
    queue.perm = OwnershipOf(reply.perm, msqid);
    queue.cbytes = reply.cbytes;
    queue.qnum = reply.qnum;
    queue.qbytes = reply.qbytes;
    queue.lspid = reply.lspid;
    queue.lrpid = reply.lrpid;
    queue.readable = !denied;
    queue.stime = reply.stime;
    queue.rtime = reply.rtime;
    queue.ctime = reply.ctime;
    result.push_back(queue);
    if (id > -1) break;
  }
  return result;
}

std::optional<ShmLimits> GetShmLimits(const IpcApi& api) {
  ShmUsage info{};
  if (ShmRead(api, 0, core::kIpcInfo, &info) < 0) return std::nullopt;
  ShmLimits limits;
  limits.shmmni = info.shmmni;
  limits.shmmax = info.shmmax;
  limits.shmall = info.shmall;
  return limits;
}

std::optional<SemLimits> GetSemLimits(const IpcApi& api) {
  SemUsage info{};
  if (SemRead(api, 0, 0, core::kIpcInfo, &info) < 0) return std::nullopt;
  SemLimits limits;
  limits.semmni = info.semmni;
  limits.semmsl = info.semmsl;
  limits.semmns = info.semmns;
  limits.semopm = info.semopm;
  return limits;
}

std::optional<MsgLimits> GetMsgLimits(const IpcApi& api) {
  MsgUsage info{};
  if (MsgRead(api, 0, core::kIpcInfo, &info) < 0) return std::nullopt;
  MsgLimits limits;
  limits.msgmni = info.msgmni;
  limits.msgmax = static_cast<uint64_t>(static_cast<int64_t>(info.msgmax));
  limits.msgmnb = info.msgmnb;
  return limits;
}

std::optional<ShmUsage> GetShmInfo(const IpcApi& api) {
  ShmUsage info{};
  if (ShmRead(api, 0, core::kShmInfo, &info) < 0) return std::nullopt;
  return info;
}

std::optional<SemUsage> GetSemInfo(const IpcApi& api) {
  SemUsage info{};
  if (SemRead(api, 0, 0, core::kSemInfo, &info) < 0) return std::nullopt;
  return info;
}

std::optional<MsgUsage> GetMsgInfo(const IpcApi& api) {
  MsgUsage info{};
  if (MsgRead(api, 0, core::kMsgInfo, &info) < 0) return std::nullopt;
  return info;
}

}  // namespace sysv::tools
