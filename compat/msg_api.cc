// sysv_msgget, sysv_msgsnd, sysv_msgrcv, sysv_msgctl.
//
// msgget and msgctl go to the daemon; msgsnd and msgrcv run here, on the
// queue's mapped region (core/msg/msg_queue.h), after the checks the kernel
// makes, in its order, against the mapped object table -- for a process
// that may read and write the queue. The daemon serves the others
// (compat/msg_served.h): a process maps the region writable only if its
// permission lets it do everything a writable region allows. The text of
// a message is copied once on each side, as the kernel's load_msg() and
// store_msg() do: between the caller's buffer and the region, under the
// queue's lock, by a copy that turns a fault into EFAULT (MsgSource,
// MsgSink) -- after the message was taken, for msgrcv, as the kernel's.
// Small texts sent and the served paths go through a private buffer.
// The caller's command numbers and flags are its C library's
// (backends/ipc_abi.h), translated to the core's at entry.
#include <sys/msg.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <memory>
#include <vector>

#include "backends/ipc_abi.h"
#include "compat/access_verdict.h"
#include "compat/local_get.h"
#include "compat/credential_cache.h"
#include "compat/errno_result.h"
#include "compat/fault_safe_copy.h"
#include "compat/msg_served.h"
#include "compat/runtime.h"
#include "compat/signal_epoch.h"
#include "core/ipc/ipc_constants.h"
#include "core/ipc/ipc_id.h"
#include "core/msg/msg_checks.h"
#include "core/msg/msg_queue.h"
#include "core/msg/msg_registry.h"
#include "core/protocol/codec.h"
#include "core/protocol/ctl_replies.h"
#include "core/protocol/wire.h"
#include "sysv/sysv.h"

namespace sysv::compat {
namespace {

namespace wire = core::wire;
using core::MsgQueue;

// A queue a thread used lately, for the next call on it without a lock or
// a daemon round trip, and the permission verdict on it (access_verdict.h),
// valid in grant epoch `epoch`.
struct ThreadQueue {
  int32_t id = -1;
  uint64_t epoch = 0;
  std::shared_ptr<MsgGrant> grant;
  AccessVerdict verdict;
};
// The last few queues a thread used: a client sends its requests on one
// queue and reads its replies from another, a server the reverse. With one
// entry, every such call missed it and paid the runtime's lock and four
// credential system calls (request/reply over two queues ran at 1.45x the
// kernel, against 6.5x over one). On the heap: libsysv's TLS block must
// stay small (build_defs/copts.bzl).
struct ThreadQueues {
  static constexpr int kEntries = 4;
  ThreadQueue entries[kEntries];
  int next_victim = 0;

  // The entry of `msqid`, or one to replace (id -1 or another queue's).
  ThreadQueue& For(int32_t msqid) {
    for (ThreadQueue& t : entries) {
      if (t.id == msqid) return t;
    }
    ThreadQueue& victim = entries[next_victim];
    next_victim = (next_victim + 1) % kEntries;
    return victim;
  }
  // The entry of `msqid`, or nullptr.
  ThreadQueue* Find(int32_t msqid) {
    for (ThreadQueue& t : entries) {
      if (t.id == msqid) return &t;
    }
    return nullptr;
  }
};
thread_local std::unique_ptr<ThreadQueues> t_queues;

ThreadQueues& OwnQueues() {
  if (t_queues == nullptr) t_queues = std::make_unique<ThreadQueues>();
  return *t_queues;
}
// The private copy of a payload; grows to the largest message and stays.
thread_local std::vector<uint8_t> t_payload;

// The grant for queue `msqid` after the checks of an operation that needs
// `access`: the lookup (EINVAL) and ipcperms() (EACCES).
absl::StatusOr<MsgGrant*> QueueFor(Runtime& runtime, int msqid, int access, const core::Credentials& creds) {
  ThreadQueue& t = OwnQueues().For(msqid);
  const core::ObjectTable* table = runtime.PublishedMsgTable();
  const int32_t index = core::IpcIdIndex(msqid);
  // A receive needs a mapping (a reader sleeps there); a grant opened by a
  // writer only has none, and is opened again.
  const bool needs_map = access == core::kAccessRead;
  // msqid is this thread's queue, and its slot is inside the table (else
  // the runtime decides, as for a new queue).
  const bool same_queue = table != nullptr && t.id == msqid && t.epoch == runtime.GrantEpoch() &&
                          static_cast<uint32_t>(index) < table->capacity() &&
                          (!needs_map || t.grant->queue != nullptr);
  if (same_queue && t.verdict.Holds(table, &creds) && t.verdict.Allows(access)) return t.grant.get();
  auto check = [&](const core::ObjectTable& table) { return core::CheckMsgAccess(table, msqid, access, creds); };
  if (same_queue) {
    absl::StatusOr<core::ObjectRecord> record = check(*table);
    if (!record.ok()) return record.status();
    if (record->perm.seq == t.grant->seq) {
      t.verdict.Remember(*table, index, *record, &creds);
      return t.grant.get();
    }
  }
  absl::StatusOr<std::shared_ptr<MsgGrant>> grant = runtime.MsgGrantFor(msqid, check, needs_map);
  if (!grant.ok()) return grant.status();
  t.id = msqid;
  t.epoch = runtime.GrantEpoch();
  t.grant = *std::move(grant);
  t.verdict.Forget();  // the next call checks again and remembers a verdict
  return t.grant.get();
}

// Queue `msqid` moved out of the region `stale` maps (core::kMsgMoved):
// this thread and the runtime forget the grant, and the next QueueFor()
// opens the region the daemon hands out now (the request of a first use).
void ForgetMovedQueue(Runtime& runtime, int msqid, const MsgGrant* stale) {
  runtime.ForgetMsgGrant(msqid, stale);
  if (ThreadQueue* t = OwnQueues().Find(msqid)) t->id = -1;
}

// core::RecheckMsgAccess() on the published table.
int RecheckAccess(Runtime& runtime, int msqid, int access, const core::Credentials& creds) {
  const core::ObjectTable* table = runtime.PublishedMsgTable();
  return table == nullptr ? 0 : core::RecheckMsgAccess(*table, msqid, access, creds);
}

// Messages up to this size are read with their type in one copy.
constexpr size_t kOneCopyMax = 65536;
// And written out with it in one copy, through a 256-byte buffer on the
// stack (the type's 8 bytes and the text).
constexpr size_t kOneCopyOutMax = 256 - sizeof(long);

// The caller's struct msgbuf read into t_payload: its type in `*mtype`, the
// text from t_payload.data() + the returned offset; or -errno, in the
// kernel's order: ksys_msgsnd() reads the type (EFAULT), do_msgsnd() checks
// the arguments (EINVAL), load_msg() reads the text (EFAULT).
int64_t LoadMessage(Runtime& runtime, int msqid, const void* msgp, size_t msgsz, long* mtype) {
  auto check_args = [&] { return core::CheckMsgsndArgs(msqid, msgsz, *mtype, runtime.MsgMax()); };
  // Readable memory (every call but an erroneous one): type and text in one
  // copy, one recovery window, and then only the kernel's EINVAL is left to
  // check. A fault sends us the long way, which gives the kernel's errors in
  // its order.
  if (msgsz <= kOneCopyMax) {
    t_payload.resize(sizeof(long) + msgsz);
    if (FaultSafeCopy(t_payload.data(), msgp, sizeof(long) + msgsz)) {
      std::memcpy(mtype, t_payload.data(), sizeof(long));
      if (absl::Status status = check_args(); !status.ok()) return -core::ErrnoOf(status);
      return sizeof(long);
    }
  }
  if (!FaultSafeCopy(mtype, msgp, sizeof(long))) return -EFAULT;
  if (absl::Status status = check_args(); !status.ok()) return -core::ErrnoOf(status);
  t_payload.resize(msgsz);
  if (msgsz > 0 && !FaultSafeCopy(t_payload.data(), static_cast<const char*>(msgp) + sizeof(long), msgsz)) {
    return -EFAULT;
  }
  return 0;
}

// Texts from this size on are sent straight from the caller's buffer
// (MsgSource): below it, one copy into a private buffer together with the
// type is as cheap, and the 64-byte stream's costs stay as they were.
constexpr size_t kDirectSendMin = 256;

// The kernel's EFAULT for a text that cannot be read comes before every
// error of the queue (load_msg() runs first): an error found before the
// text was read is EFAULT when it cannot be.
int TextFirst(int error, const void* msgp, size_t msgsz) {
  if (error == 0 || error == EFAULT) return error;
  t_payload.resize(msgsz);
  return FaultSafeCopy(t_payload.data(), static_cast<const char*>(msgp) + sizeof(long), msgsz) ? error : EFAULT;
}

// msgsnd of a text of kDirectSendMin bytes or more: 0 or the errno.
int SendDirect(Runtime& runtime, int msqid, const void* msgp, size_t msgsz, int msgflg, uint64_t since) {
  // ksys_msgsnd() reads the type (EFAULT), do_msgsnd() checks the
  // arguments (EINVAL), then the text is read (TextFirst()).
  long mtype = 0;
  if (!FaultSafeCopy(&mtype, msgp, sizeof(long))) return EFAULT;
  if (absl::Status status = core::CheckMsgsndArgs(msqid, msgsz, mtype, runtime.MsgMax()); !status.ok()) {
    return core::ErrnoOf(status);
  }
  absl::StatusOr<const core::Credentials*> creds = CachedCredentials();
  if (!creds.ok()) return TextFirst(core::ErrnoOf(creds.status()), msgp, msgsz);
  const int32_t pid = runtime.SemCaller().pid;
  core::MsgSource source{static_cast<const char*>(msgp) + sizeof(long), msgsz, &FaultSafeRun, &t_payload};
  for (;;) {  // again after a move, on the queue's new region
    absl::StatusOr<MsgGrant*> grant = QueueFor(runtime, msqid, core::kAccessWrite, **creds);
    if (!grant.ok()) return TextFirst(core::ErrnoOf(grant.status()), msgp, msgsz);
    if (!(*grant)->read_write()) [[unlikely]] {
      // The daemon sends it, from a private copy (the text as kept, if the
      // call slept before a move).
      if (source.text != t_payload.data()) {
        if (const int error = TextFirst(EAGAIN, msgp, msgsz); error != EAGAIN) return error;
      }
      return ServedMsgsnd(runtime, msqid, mtype, absl::MakeConstSpan(t_payload.data(), msgsz), msgflg, since,
                          [&] { return RecheckAccess(runtime, msqid, core::kAccessWrite, **creds); });
    }
    MsgQueue& queue = *(*grant)->queue;  // kept alive by t_queues, as in Msgsnd()
    int result;
    while ((result = queue.SendFrom(mtype, &source, msgflg, pid, since)) == core::kMsgRecheck) {
      if (const int error = RecheckAccess(runtime, msqid, core::kAccessWrite, **creds); error != 0) {
        return TextFirst(error, msgp, msgsz);
      }
    }
    if (result != core::kMsgMoved) return TextFirst(result, msgp, msgsz);
    ForgetMovedQueue(runtime, msqid, *grant);
  }
}

int Msgsnd(int msqid, const void* msgp, size_t msgsz, int msgflg) {
  // First of all (see MsgQueue::SignalEpoch()): a handler that runs from
  // here on, even during a round trip to the daemon (a forked child's first
  // call registers it), ends the call with EINTR if it has to sleep.
  const uint64_t since = SignalEpoch();
  const AwakeRoundTrips awake;
  Runtime& runtime = Runtime::Get();
  if (msgsz >= kDirectSendMin) {
    const int error = SendDirect(runtime, msqid, msgp, msgsz, msgflg, since);
    return error == 0 ? 0 : FailWithErrno(error);
  }
  long mtype = 0;
  const int64_t offset = LoadMessage(runtime, msqid, msgp, msgsz, &mtype);
  if (offset < 0) return FailWithErrno(static_cast<int>(-offset));
  absl::StatusOr<const core::Credentials*> creds = CachedCredentials();
  if (!creds.ok()) return FailWithStatus(creds.status());
  const int32_t pid = runtime.SemCaller().pid;
  for (;;) {  // again after a move, on the queue's new region
    absl::StatusOr<MsgGrant*> grant = QueueFor(runtime, msqid, core::kAccessWrite, **creds);
    if (!grant.ok()) return FailWithStatus(grant.status());
    // Write permission without read: the daemon sends it.
    if (!(*grant)->read_write()) [[unlikely]] {
      const int error =
          ServedMsgsnd(runtime, msqid, mtype, absl::MakeConstSpan(t_payload.data() + offset, msgsz), msgflg, since,
                       [&] { return RecheckAccess(runtime, msqid, core::kAccessWrite, **creds); });
      return error == 0 ? 0 : FailWithErrno(error);
    }
    // t_queues (this thread's alone) holds a reference for the whole call:
    // no other thread can drop the mapping under it.
    MsgQueue& queue = *(*grant)->queue;
    int result;
    while ((result = queue.Send(mtype, absl::MakeConstSpan(t_payload.data() + offset, msgsz), msgflg, pid,
                                since)) == core::kMsgRecheck) {
      if (const int error = RecheckAccess(runtime, msqid, core::kAccessWrite, **creds); error != 0) {
        return FailWithErrno(error);
      }
    }
    if (result == 0) return 0;
    if (result != core::kMsgMoved) return FailWithErrno(result);
    ForgetMovedQueue(runtime, msqid, *grant);
  }
}

ssize_t Msgrcv(int msqid, void* msgp, size_t msgsz, long msgtyp, int msgflg) {
  const uint64_t since = SignalEpoch();  // first of all, as in Msgsnd()
  const AwakeRoundTrips awake;
  // do_msgrcv()
  if (absl::Status status = core::CheckMsgrcvArgs(msqid, msgsz, msgflg); !status.ok()) {
    return FailWithStatus(status);
  }
  Runtime& runtime = Runtime::Get();
  if (msgflg & core::kMsgCopy) {
    // prepare_copy(): load_msg() reads min(msgsz, MSGMAX) bytes of the
    // buffer before anything else.
    const size_t n = std::min<size_t>(msgsz, runtime.MsgMax());
    t_payload.resize(n);
    if (n > 0 && !FaultSafeCopy(t_payload.data(), msgp, n)) return FailWithErrno(EFAULT);
  }
  absl::StatusOr<const core::Credentials*> creds = CachedCredentials();
  if (!creds.ok()) return FailWithStatus(creds.status());
  int64_t mtype = 0;
  int64_t result;
  // A receiver that slept when its queue moved ends its wait on its
  // record in the new region.
  core::MsgResume resume;
  // Straight into the caller's buffer, but for MSG_COPY, whose buffer the
  // kernel reads before anything else (above), and a null buffer (memcpy to
  // it is undefined even where the fault is caught): a private copy.
  static_assert(sizeof(long) == sizeof(int64_t));
  const bool direct = (msgflg & core::kMsgCopy) == 0 && msgp != nullptr;
  for (;;) {  // again after a move, on the queue's new region
    absl::StatusOr<MsgGrant*> grant = QueueFor(runtime, msqid, core::kAccessRead, **creds);
    if (!grant.ok()) return FailWithStatus(grant.status());
    if (!(*grant)->read_write()) [[unlikely]] {
      // Read permission without write: the daemon receives it.
      result = ServedMsgrcv(runtime, **grant, msqid, msgtyp, msgflg, msgsz, since,
                            [&] { return RecheckAccess(runtime, msqid, core::kAccessRead, **creds); }, &mtype,
                            &t_payload);
      if (result != core::kMsgMoved) break;
      ForgetMovedQueue(runtime, msqid, *grant);
      continue;
    }
    MsgQueue& queue = *(*grant)->queue;  // kept alive by t_queues, as in Msgsnd()
    const uint64_t msgmax = runtime.MsgMax();
    const int32_t pid = runtime.SemCaller().pid;
    const core::MsgSink sink{msgp, static_cast<char*>(msgp) + sizeof(long), &FaultSafeRun};
    for (;;) {
      if (resume.record != core::kMsgNoBlock) {
        result = direct ? queue.FinishReceiveInto(resume.record, pid, resume.interrupted, msgsz, sink)
                        : queue.FinishReceive(resume.record, pid, resume.interrupted, msgsz, &mtype, &t_payload);
      } else {
        result = direct ? queue.ReceiveInto(msgtyp, msgflg, msgsz, msgmax, pid, since, sink, &resume)
                        : queue.Receive(msgtyp, msgflg, msgsz, msgmax, pid, since, &mtype, &t_payload, nullptr,
                                        &resume);
      }
      if (result == core::kMsgMoved) break;
      resume = core::MsgResume{};
      if (result != core::kMsgRecheck) break;
      if (const int error = RecheckAccess(runtime, msqid, core::kAccessRead, **creds); error != 0) {
        return FailWithErrno(error);
      }
    }
    if (result != core::kMsgMoved) {
      if (direct) return result < 0 ? FailWithErrno(static_cast<int>(-result)) : static_cast<ssize_t>(result);
      break;
    }
    ForgetMovedQueue(runtime, msqid, *grant);
  }
  if (result < 0) return FailWithErrno(static_cast<int>(-result));
  const long type = static_cast<long>(mtype);
  // A small message goes out in one copy (one recovery window). Only a
  // fault sends it the long way: the type first, then the text, as
  // do_msg_fill() (the copies write the same bytes again).
  if (static_cast<size_t>(result) <= kOneCopyOutMax) {
    char out[sizeof(long) + kOneCopyOutMax];
    std::memcpy(out, &type, sizeof(type));
    if (result > 0) std::memcpy(out + sizeof(long), t_payload.data(), static_cast<size_t>(result));
    if (FaultSafeCopy(msgp, out, sizeof(long) + static_cast<size_t>(result))) return static_cast<ssize_t>(result);
  }
  // do_msg_fill(): the type, then the text.
  if (!FaultSafeCopy(msgp, &type, sizeof(type))) return FailWithErrno(EFAULT);
  if (result > 0 &&
      !FaultSafeCopy(static_cast<char*>(msgp) + sizeof(long), t_payload.data(), static_cast<size_t>(result))) {
    return FailWithErrno(EFAULT);
  }
  return static_cast<ssize_t>(result);
}

void FillStat(struct msqid_ds* out, const wire::WirePerm& perm, const core::MsgQueue::Stat& queue) {
  std::memset(out, 0, sizeof(*out));
  abi::FillIpcPerm(perm, &out->msg_perm);
  out->msg_stime = queue.stime;
  out->msg_rtime = queue.rtime;
  out->msg_ctime = queue.ctime;
  abi::SetMsgCbytes(out, queue.cbytes);
  out->msg_qnum = queue.qnum;
  out->msg_qbytes = queue.qbytes;
  out->msg_lspid = queue.lspid;
  out->msg_lrpid = queue.lrpid;
}

// IPC_STAT of a queue this thread already uses, without the daemon: the
// permissions come from the mapped table, everything else from the region,
// which hold what the daemon's answer would. kAskDaemon: ask the daemon
// (it also gives the errors).
constexpr int kAskDaemon = -2;

int LocalStat(int msqid, struct msqid_ds* buf) {
  Runtime& runtime = Runtime::Get();
  const core::ObjectTable* table = runtime.PublishedMsgTable();
  const ThreadQueue* t = t_queues != nullptr ? t_queues->Find(msqid) : nullptr;
  if (table == nullptr || t == nullptr || t->epoch != runtime.GrantEpoch() || t->grant->queue == nullptr) {
    return kAskDaemon;
  }
  absl::StatusOr<const core::Credentials*> creds = CachedCredentials();
  if (!creds.ok()) return kAskDaemon;
  absl::StatusOr<core::ObjectRecord> record = core::CheckMsgAccess(*table, msqid, core::kAccessRead, **creds);
  if (!record.ok() || record->perm.seq != t->grant->seq) return kAskDaemon;
  const core::MsgQueue::Stat stat = t->grant->queue->ReadStat();
  // A region the queue moved out of holds its state as it was then.
  if (t->grant->queue->Moved()) {
    ForgetMovedQueue(runtime, msqid, t->grant.get());
    return kAskDaemon;
  }
  struct msqid_ds out;
  FillStat(&out, wire::ToWirePerm(record->perm), stat);
  if (!FaultSafeCopy(buf, &out, sizeof(out))) return FailWithErrno(EFAULT);
  return 0;
}

// What msgctl returns and writes to `buf` for a successful `cmd` (a stat or
// info command, as the core numbers it), from the daemon's reply or one made
// the same way from a local answer.
int MsgctlAnswer(int cmd, const wire::MsgCtlReply& reply, struct msqid_ds* buf) {
  if (cmd == core::kIpcStat || cmd == core::kMsgStat || cmd == core::kMsgStatAny) {
    core::MsgQueue::Stat queue;
    queue.stime = reply.stime;
    queue.rtime = reply.rtime;
    queue.ctime = reply.ctime;
    queue.cbytes = reply.cbytes;
    queue.qnum = reply.qnum;
    queue.qbytes = reply.qbytes;
    queue.lspid = reply.lspid;
    queue.lrpid = reply.lrpid;
    struct msqid_ds out;
    FillStat(&out, reply.perm, queue);
    if (!FaultSafeCopy(buf, &out, sizeof(out))) return FailWithErrno(EFAULT);
  } else if (cmd == core::kIpcInfo || cmd == core::kMsgInfo) {
    const abi::InfoBytes out = abi::MsgInfoBytes(reply);
    if (!FaultSafeCopy(buf, out.data, out.size)) return FailWithErrno(EFAULT);
  }
  return reply.value;
}

int Msgctl(int msqid, int caller_cmd, struct msqid_ds* buf) {
  // ksys_msgctl(); a command the caller's system does not have is EINVAL,
  // the "default:" of its kernel's msgctl.
  if (msqid < 0 || caller_cmd < 0) return FailWithErrno(EINVAL);
  const int cmd = abi::MsgctlCommand(caller_cmd);
  if (cmd == abi::kNoSuchCommand) return FailWithErrno(EINVAL);
  if (cmd == core::kIpcStat) {
    if (const int result = LocalStat(msqid, buf); result != kAskDaemon) return result;
  }
  // MSG_STAT and MSG_STAT_ANY: an unused index and a reader without
  // permission are refused from the table; the fields need the queue's
  // region, which this thread has mapped only for queues it uses.
  if (cmd == core::kMsgStat || cmd == core::kMsgStatAny) {
    auto found = TryLocalStatLookup(Runtime::Get().PublishedMsgTable(), msqid, cmd, core::kMsgStat);
    if (!found.ok()) return FailWithStatus(found.status());
    if (found->has_value()) {
      if (const int result = LocalStat(**found, buf); result != kAskDaemon) return result == 0 ? **found : result;
    }
  }
  // IPC_INFO: the limits and the highest index, as the daemon published them.
  if (std::optional<core::MsgCtlResult> local = core::LocalMsgInfo(Runtime::Get().PublishedMsgTable(), cmd)) {
    return MsgctlAnswer(cmd, wire::MsgCtlReplyOf(*local), buf);
  }
  wire::MsgCtlRequest request{};
  request.id = msqid;
  request.cmd = cmd;
  switch (cmd) {
    case core::kIpcInfo:
    case core::kMsgInfo:
    case core::kIpcStat:
    case core::kMsgStat:
    case core::kMsgStatAny:
    case core::kIpcRmid:
      break;
    case core::kIpcSet: {
      struct msqid_ds in;
      if (!FaultSafeCopy(&in, buf, sizeof(in))) return FailWithErrno(EFAULT);
      request.uid = in.msg_perm.uid;
      request.gid = in.msg_perm.gid;
      request.mode = in.msg_perm.mode;
      request.qbytes = in.msg_qbytes;
      break;
    }
    default:
      return FailWithErrno(EINVAL);
  }
  auto reply = Runtime::Get().Call<wire::Op::kMsgCtl>(request);
  if (!reply.ok()) return FailWithStatus(reply.status());
  if (reply->status.error != 0) return FailWithErrno(reply->status.error);
  return MsgctlAnswer(cmd, *reply, buf);
}

}  // namespace
}  // namespace sysv::compat

extern "C" int sysv_msgget(key_t caller_key, int msgflg) {
  namespace wire = sysv::core::wire;
  sysv::core::Key key = 0;
  if (!sysv::abi::ProtocolKey(caller_key, &key)) return sysv::compat::FailWithErrno(EINVAL);
  sysv::compat::Runtime& runtime = sysv::compat::Runtime::Get();
  // msgget has no checks of an existing queue beyond ipcperms().
  auto local = sysv::compat::TryLocalGet(runtime.PublishedMsgTable(), key, msgflg, {});
  if (!local.ok()) return sysv::compat::FailWithStatus(local.status());
  if (local->has_value()) return **local;
  const wire::MsgGetRequest request{key, msgflg};
  auto reply = runtime.Call<wire::Op::kMsgGet>(request);
  if (!reply.ok()) return sysv::compat::FailWithStatus(reply.status());
  if (reply->status.error != 0) return sysv::compat::FailWithErrno(reply->status.error);
  return reply->id;
}

extern "C" int sysv_msgsnd(int msqid, const void* msgp, size_t msgsz, int msgflg) {
  return sysv::compat::Msgsnd(msqid, msgp, msgsz, msgflg);
}

extern "C" ssize_t sysv_msgrcv(int msqid, void* msgp, size_t msgsz, long msgtyp, int msgflg) {
  return sysv::compat::Msgrcv(msqid, msgp, msgsz, msgtyp, sysv::abi::MsgrcvFlags(msgflg));
}

extern "C" int sysv_msgctl(int msqid, int cmd, struct msqid_ds* buf) {
  return sysv::compat::Msgctl(msqid, cmd, buf);
}
