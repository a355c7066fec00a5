#include "compat/proc_content.h"

#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/ipc/proc_format.h"
#include "sysv/sysv.h"

namespace sysv::compat {
namespace {

struct Entry {
  const char* path;
  ProcFile file;
};

constexpr Entry kEntries[] = {
    {"/proc/sysvipc/shm", ProcFile::kSysvShm},       {"/proc/sysvipc/sem", ProcFile::kSysvSem},
    {"/proc/sysvipc/msg", ProcFile::kSysvMsg},       {"/proc/sys/kernel/shmmax", ProcFile::kShmmax},
    {"/proc/sys/kernel/shmall", ProcFile::kShmall},  {"/proc/sys/kernel/shmmni", ProcFile::kShmmni},
    {"/proc/sys/kernel/sem", ProcFile::kSem},        {"/proc/sys/kernel/msgmax", ProcFile::kMsgmax},
    {"/proc/sys/kernel/msgmnb", ProcFile::kMsgmnb},  {"/proc/sys/kernel/msgmni", ProcFile::kMsgmni},
    {"/proc/sys/kernel/shm_next_id", ProcFile::kShmNextId},
    {"/proc/sys/kernel/sem_next_id", ProcFile::kSemNextId},
    {"/proc/sys/kernel/msg_next_id", ProcFile::kMsgNextId},
};

// The ipc_perm fields of a line.
core::ProcPerm PermOf(const struct ipc_perm& perm, int id) {
  core::ProcPerm out;
  out.key = perm.__key;
  out.id = id;
  out.mode = perm.mode;
  out.uid = perm.uid;
  out.gid = perm.gid;
  out.cuid = perm.cuid;
  out.cgid = perm.cgid;
  return out;
}

// Each used index up to `max_index` (from *_INFO) as a row: `row_at(index,
// &row)` is false for an unused one. *_STAT_ANY, like /proc, lists objects
// whatever their permissions.
template <typename Row, typename RowAt>
std::vector<Row> RowsUpTo(int max_index, RowAt row_at) {
  std::vector<Row> rows;
  for (int index = 0; index <= max_index; ++index) {
    Row row;
    if (row_at(index, &row)) rows.push_back(row);
  }
  return rows;
}

bool ShmListing(std::string* content) {
  struct shm_info info;
  std::memset(&info, 0, sizeof(info));
  const int max_index = sysv_shmctl(0, SHM_INFO, reinterpret_cast<struct shmid_ds*>(&info));
  if (max_index < 0) return false;
  *content = core::ShmProcText(RowsUpTo<core::ShmProcRow>(max_index, [](int index, core::ShmProcRow* row) {
    struct shmid_ds ds;
    const int id = sysv_shmctl(index, SHM_STAT_ANY, &ds);
    if (id < 0) return false;
    row->perm = PermOf(ds.shm_perm, id);
    row->segsz = ds.shm_segsz;
    row->cpid = ds.shm_cpid;
    row->lpid = ds.shm_lpid;
    row->nattch = ds.shm_nattch;
    row->atime = ds.shm_atime;
    row->dtime = ds.shm_dtime;
    row->ctime = ds.shm_ctime;
    return true;
  }));
  return true;
}

bool SemListing(std::string* content) {
  struct seminfo info;
  std::memset(&info, 0, sizeof(info));
  const int max_index = sysv_semctl(0, 0, SEM_INFO, &info);
  if (max_index < 0) return false;
  *content = core::SemProcText(RowsUpTo<core::SemProcRow>(max_index, [](int index, core::SemProcRow* row) {
    struct semid_ds ds;
    const int id = sysv_semctl(index, 0, SEM_STAT_ANY, &ds);
    if (id < 0) return false;
    row->perm = PermOf(ds.sem_perm, id);
    row->nsems = ds.sem_nsems;
    row->otime = ds.sem_otime;
    row->ctime = ds.sem_ctime;
    return true;
  }));
  return true;
}

bool MsgListing(std::string* content) {
  struct msginfo info;
  std::memset(&info, 0, sizeof(info));
  const int max_index = sysv_msgctl(0, MSG_INFO, reinterpret_cast<struct msqid_ds*>(&info));
  if (max_index < 0) return false;
  *content = core::MsgProcText(RowsUpTo<core::MsgProcRow>(max_index, [](int index, core::MsgProcRow* row) {
    struct msqid_ds ds;
    const int id = sysv_msgctl(index, MSG_STAT_ANY, &ds);
    if (id < 0) return false;
    row->perm = PermOf(ds.msg_perm, id);
    row->cbytes = ds.__msg_cbytes;
    row->qnum = ds.msg_qnum;
    row->lspid = ds.msg_lspid;
    row->lrpid = ds.msg_lrpid;
    row->stime = ds.msg_stime;
    row->rtime = ds.msg_rtime;
    row->ctime = ds.msg_ctime;
    return true;
  }));
  return true;
}

bool ShmLimits(struct shminfo* info) {
  std::memset(info, 0, sizeof(*info));
  return sysv_shmctl(0, IPC_INFO, reinterpret_cast<struct shmid_ds*>(info)) >= 0;
}

bool SemLimits(struct seminfo* info) {
  std::memset(info, 0, sizeof(*info));
  return sysv_semctl(0, 0, IPC_INFO, info) >= 0;
}

bool MsgLimits(struct msginfo* info) {
  std::memset(info, 0, sizeof(*info));
  return sysv_msgctl(0, IPC_INFO, reinterpret_cast<struct msqid_ds*>(info)) >= 0;
}

bool Unsigned(uint64_t value, std::string* content) {
  const uint64_t values[] = {value};
  *content = core::UnsignedSysctlText(values);
  return true;
}

bool Int(int64_t value, std::string* content) {
  const int64_t values[] = {value};
  *content = core::IntSysctlText(values);
  return true;
}

}  // namespace

ProcFile ProcFileOf(const char* path) {
  for (const Entry& entry : kEntries) {
    if (std::strcmp(path, entry.path) == 0) return entry.file;
  }
  return ProcFile::kNone;
}

bool ProcFileContent(ProcFile file, std::string* content) {
  struct shminfo shm;
  struct seminfo sem;
  struct msginfo msg;
  switch (file) {
    case ProcFile::kSysvShm:
      return ShmListing(content);
    case ProcFile::kSysvSem:
      return SemListing(content);
    case ProcFile::kSysvMsg:
      return MsgListing(content);
    case ProcFile::kShmmax:
      return ShmLimits(&shm) && Unsigned(shm.shmmax, content);
    case ProcFile::kShmall:
      return ShmLimits(&shm) && Unsigned(shm.shmall, content);
    case ProcFile::kShmmni:
      return ShmLimits(&shm) && Int(static_cast<int64_t>(shm.shmmni), content);
    case ProcFile::kSem: {
      if (!SemLimits(&sem)) return false;
      const int64_t values[] = {sem.semmsl, sem.semmns, sem.semopm, sem.semmni};
      *content = core::IntSysctlText(values);
      return true;
    }
    case ProcFile::kMsgmax:
      return MsgLimits(&msg) && Int(msg.msgmax, content);
    case ProcFile::kMsgmnb:
      return MsgLimits(&msg) && Int(msg.msgmnb, content);
    case ProcFile::kMsgmni:
      return MsgLimits(&msg) && Int(msg.msgmni, content);
    // The namespace has no "next id" setting: the kernel's value while none
    // is set.
    case ProcFile::kShmNextId:
    case ProcFile::kSemNextId:
    case ProcFile::kMsgNextId:
      return Int(-1, content);
    case ProcFile::kNone:
      break;
  }
  errno = ENOENT;
  return false;
}

}  // namespace sysv::compat
