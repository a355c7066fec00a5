// What a C library's IPC_STAT/*_STAT wrote (its struct shmid_ds, semid_ds
// and msqid_ds) read back into the protocol's replies: for tools/, which
// ask through the C library (tools/ipc_objects.cc) and then handle every
// answer as the protocol's, as libsysv's own replies are. The inverse of
// abi::FillIpcPerm and compat's Fill*Ds.
//
// The fields have POSIX's names in every C library served; the two that
// differ (the key, msqid_ds's byte count) come from backends/ipc_abi.h's
// KeyOf and MsgCbytes. The info structs go through that header's
// *ReplyOfInfo.
#ifndef SYSV_BACKENDS_IPC_STAT_REPLIES_H_
#define SYSV_BACKENDS_IPC_STAT_REPLIES_H_

#include <cstdint>

#include "backends/ipc_abi.h"
#include "core/protocol/wire.h"

namespace sysv::abi {

// struct ipc_perm as the protocol carries it.
inline core::wire::WirePerm WirePermOf(const struct ipc_perm& perm) {
  core::wire::WirePerm result{};
  result.key = static_cast<int32_t>(KeyOf(perm));
  result.uid = perm.uid;
  result.gid = perm.gid;
  result.cuid = perm.cuid;
  result.cgid = perm.cgid;
  result.mode = perm.mode;
  return result;
}

inline core::wire::ShmCtlReply ShmReplyOf(const struct shmid_ds& ds) {
  core::wire::ShmCtlReply reply{};
  reply.perm = WirePermOf(ds.shm_perm);
  reply.segsz = ds.shm_segsz;
  reply.atime = ds.shm_atime;
  reply.dtime = ds.shm_dtime;
  reply.ctime = ds.shm_ctime;
  reply.cpid = ds.shm_cpid;
  reply.lpid = ds.shm_lpid;
  reply.nattch = ds.shm_nattch;
  return reply;
}

inline core::wire::SemCtlReply SemReplyOf(const struct semid_ds& ds) {
  core::wire::SemCtlReply reply{};
  reply.perm = WirePermOf(ds.sem_perm);
  reply.otime = ds.sem_otime;
  reply.ctime = ds.sem_ctime;
  reply.nsems = ds.sem_nsems;
  return reply;
}

inline core::wire::MsgCtlReply MsgReplyOf(const struct msqid_ds& ds) {
  core::wire::MsgCtlReply reply{};
  reply.perm = WirePermOf(ds.msg_perm);
  reply.stime = ds.msg_stime;
  reply.rtime = ds.msg_rtime;
  reply.ctime = ds.msg_ctime;
  reply.cbytes = MsgCbytes(ds);
  reply.qnum = ds.msg_qnum;
  reply.qbytes = ds.msg_qbytes;
  reply.lspid = ds.msg_lspid;
  reply.lrpid = ds.msg_lrpid;
  return reply;
}

}  // namespace sysv::abi

#endif  // SYSV_BACKENDS_IPC_STAT_REPLIES_H_
