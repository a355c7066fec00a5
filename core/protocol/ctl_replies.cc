#include "core/protocol/ctl_replies.h"

#include "core/protocol/codec.h"

namespace sysv::core::wire {

ShmCtlReply ShmCtlReplyOf(const ShmCtlResult& result) {
  ShmCtlReply body{};
  body.value = result.value;
  body.perm = ToWirePerm(result.stat.perm);
  body.segsz = result.stat.segsz;
  body.atime = result.stat.atime;
  body.dtime = result.stat.dtime;
  body.ctime = result.stat.ctime;
  body.cpid = result.stat.cpid;
  body.lpid = result.stat.lpid;
  body.nattch = result.stat.nattch;
  body.shmmax = result.ipc_info.shmmax;
  body.shmmin = result.ipc_info.shmmin;
  body.shmmni = result.ipc_info.shmmni;
  body.shmseg = result.ipc_info.shmseg;
  body.shmall = result.ipc_info.shmall;
  body.used_ids = result.usage.used_ids;
  body.shm_tot = result.usage.shm_tot;
  body.shm_rss = result.usage.shm_rss;
  body.shm_swp = result.usage.shm_swp;
  body.swap_attempts = result.usage.swap_attempts;
  body.swap_successes = result.usage.swap_successes;
  return body;
}

SemCtlReply SemCtlReplyOf(const SemCtlResult& result) {
  SemCtlReply body{};
  body.value = result.value;
  body.perm = ToWirePerm(result.stat.perm);
  body.otime = result.stat.otime;
  body.ctime = result.stat.ctime;
  body.nsems = result.stat.nsems;
  const SemInfo& info = result.info;
  body.semmap = info.semmap;
  body.semmni = info.semmni;
  body.semmns = info.semmns;
  body.semmnu = info.semmnu;
  body.semmsl = info.semmsl;
  body.semopm = info.semopm;
  body.semume = info.semume;
  body.semusz = info.semusz;
  body.semvmx = info.semvmx;
  body.semaem = info.semaem;
  return body;
}

MsgCtlReply MsgCtlReplyOf(const MsgCtlResult& result) {
  MsgCtlReply body{};
  const MsgQueue::Stat& queue = result.stat.queue;
  body.value = result.value;
  body.perm = ToWirePerm(result.stat.perm);
  body.stime = queue.stime;
  body.rtime = queue.rtime;
  body.ctime = queue.ctime;
  body.cbytes = queue.cbytes;
  body.qnum = queue.qnum;
  body.qbytes = queue.qbytes;
  body.lspid = queue.lspid;
  body.lrpid = queue.lrpid;
  const MsgInfo& info = result.info;
  body.msgpool = info.msgpool;
  body.msgmap = info.msgmap;
  body.msgmax = info.msgmax;
  body.msgmnb = info.msgmnb;
  body.msgmni = info.msgmni;
  body.msgssz = info.msgssz;
  body.msgtql = info.msgtql;
  body.msgseg = info.msgseg;
  return body;
}

}  // namespace sysv::core::wire
