#include "compat/proc_content.h"

#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "compat/runtime.h"
#include "core/ipc/errno_status.h"
#include "core/ipc/proc_format.h"
#include "core/ipc/sysctl.h"
#include "core/protocol/wire.h"
#include "sysv/sysv.h"

namespace sysv::compat {
namespace {

// The ipc_perm fields of a line.
core::ProcPerm PermOf(const struct ipc_perm& perm, int id) {
  core::ProcPerm out;
  out.key = abi::KeyOf(perm);
  out.id = id;
  out.mode = perm.mode;
  out.uid = perm.uid;
  out.gid = perm.gid;
  out.cuid = perm.cuid;
  out.cgid = perm.cgid;
  return out;
}

// Each used index up to `max_index` (from *_INFO) as a row: `row_at(index,
// &row)` is false for an unused one. *_STAT_ANY, like the kernel's listing, lists objects
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
    row->cbytes = abi::MsgCbytes(ds);
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

// The sysctl behind a sysctl file (ProcFile lists them in
// core::Sysctl's order).
static_assert(static_cast<uint32_t>(ProcFile::kMsgNextId) - static_cast<uint32_t>(ProcFile::kShmmax) + 1 ==
              core::kSysctlCount);
core::Sysctl SysctlOf(ProcFile file) {
  return static_cast<core::Sysctl>(static_cast<uint32_t>(file) - static_cast<uint32_t>(ProcFile::kShmmax) + 1);
}

// One kSysctl round trip: the reply, or nullopt with errno set.
std::optional<core::wire::SysctlReply> CallSysctl(ProcFile file, core::wire::SysctlAction action,
                                                  const void* data = nullptr, size_t size = 0) {
  core::wire::SysctlRequest request{};
  request.file = static_cast<uint32_t>(SysctlOf(file));
  request.action = static_cast<uint32_t>(action);
  request.length = static_cast<uint32_t>(size);
  if (size != 0) std::memcpy(request.text, data, size);
  absl::StatusOr<core::wire::SysctlReply> reply = Runtime::Get().Call<core::wire::Op::kSysctl>(request);
  if (!reply.ok()) {
    errno = core::ErrnoOf(reply.status());
    return std::nullopt;
  }
  return *reply;
}

bool ContentOf(const core::wire::SysctlReply& reply, std::string* content) {
  content->assign(reply.text, std::min<size_t>(reply.length, sizeof(reply.text)));
  return true;
}

}  // namespace

bool ProcFileContent(ProcFile file, std::string* content) {
  switch (file) {
    case ProcFile::kSysvShm:
      return ShmListing(content);
    case ProcFile::kSysvSem:
      return SemListing(content);
    case ProcFile::kSysvMsg:
      return MsgListing(content);
    case ProcFile::kNone:
      errno = ENOENT;
      return false;
    default:
      break;
  }
  const std::optional<core::wire::SysctlReply> reply = CallSysctl(file, core::wire::SysctlAction::kRead);
  return reply && ContentOf(*reply, content);
}

bool OpenSysctlForWrite(ProcFile file, std::string* content) {
  const std::optional<core::wire::SysctlReply> reply = CallSysctl(file, core::wire::SysctlAction::kOpenForWrite);
  if (!reply) return false;
  if (reply->status.error != 0) {
    errno = reply->status.error;
    return false;
  }
  return ContentOf(*reply, content);
}

long WriteSysctl(ProcFile file, const void* data, size_t size) {
  if (size > core::wire::kSysctlMaxText) {
    errno = E2BIG;
    return -1;
  }
  const std::optional<core::wire::SysctlReply> reply =
      CallSysctl(file, core::wire::SysctlAction::kWrite, data, size);
  if (!reply) return -1;
  if (reply->status.error != 0) {
    errno = reply->status.error;
    return -1;
  }
  return static_cast<long>(reply->taken);
}

}  // namespace sysv::compat
