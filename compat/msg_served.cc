#include "compat/msg_served.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/synchronization/mutex.h"
#include "backends/platform.h"
#include "compat/signal_epoch.h"
#include "core/deadline.h"
#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_constants.h"
#include "core/msg/msg_region.h"
#include "core/protocol/wire.h"

namespace sysv::compat {
namespace {

namespace wire = core::wire;

// A message longer than a request holds is staged in parts first, which
// the daemon keeps per process: one served send of this process at a time
// stages and sends, so that two threads' parts never mix.
absl::Mutex g_served_send_mu;

// One attempt: stage what does not fit inline, then send. The errno.
int SendOnce(Runtime& runtime, int msqid, int64_t mtype, absl::Span<const uint8_t> text, int msgflg) {
  absl::MutexLock lock(&g_served_send_mu);
  const size_t staged = text.size() > wire::kMsgWireBytes ? text.size() - wire::kMsgWireBytes : 0;
  for (size_t offset = 0; offset < staged; offset += wire::kMsgWireBytes) {
    wire::MsgSendPartRequest part{};
    part.id = msqid;
    part.offset = static_cast<uint32_t>(offset);
    part.length = static_cast<uint32_t>(std::min<size_t>(wire::kMsgWireBytes, staged - offset));
    std::memcpy(part.bytes, text.data() + offset, part.length);
    auto reply = runtime.Call<wire::Op::kMsgSendPart>(part);
    if (!reply.ok()) return core::ErrnoOf(reply.status());
    if (reply->status.error != 0) return reply->status.error;
  }
  wire::MsgSendRequest request{};
  request.id = msqid;
  request.msgflg = msgflg;
  request.mtype = mtype;
  request.size = static_cast<uint32_t>(text.size());
  request.staged = static_cast<uint32_t>(staged);
  if (text.size() > staged) std::memcpy(request.bytes, text.data() + staged, text.size() - staged);
  auto reply = runtime.Call<wire::Op::kMsgSend>(request);
  if (!reply.ok()) return core::ErrnoOf(reply.status());
  return reply->status.error;
}

// The message a receive reply carries: inline, or in the sealed file beside
// it. False when the reply does not hold what it says.
bool TakePayload(const wire::MsgReceiveReply& reply, const std::vector<backend::UniqueFd>& fds,
                 std::vector<uint8_t>* payload) {
  payload->resize(reply.size);
  if (reply.size <= wire::kMsgWireBytes) {
    if (reply.size > 0) std::memcpy(payload->data(), reply.bytes, reply.size);
    return true;
  }
  if (fds.size() != 1) return false;
  size_t done = 0;
  while (done < reply.size) {
    const ssize_t n = pread(fds[0].get(), payload->data() + done, reply.size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

int ServedMsgsnd(Runtime& runtime, int msqid, int64_t mtype, absl::Span<const uint8_t> text, int msgflg,
                 uint64_t since, const MsgRecheck& recheck) {
  absl::Duration poll = kServedSendPoll;
  for (bool waited = false;; waited = true) {
    const int error = SendOnce(runtime, msqid, mtype, text, msgflg);
    // A queue removed while this sender waited is EIDRM, as for the
    // kernel's sleeping sender, not the EINVAL of an unknown id.
    if (error == EINVAL && waited) {
      const int denied = recheck();
      return denied != 0 ? denied : error;
    }
    if (error != EAGAIN || (msgflg & core::kIpcNowait)) return error;
    // Full: wait for room as the kernel's sender sleeps, a signal ending it
    // with EINTR. Nothing to sleep on but time: a word nobody changes.
    const std::atomic<uint32_t> never{0};
    if (InterruptibleWait(&never, 0, core::Deadline::After(poll), since) == core::WaitResult::kInterrupted) {
      return EINTR;
    }
    poll = std::min(poll * 2, kServedSendPollMax);
    if (const int denied = recheck(); denied != 0) return denied;
  }
}

int64_t ServedMsgrcv(Runtime& runtime, const MsgGrant& grant, int msqid, int64_t msgtyp, int msgflg, uint64_t msgsz,
                     uint64_t since, const MsgRecheck& recheck, int64_t* mtype, std::vector<uint8_t>* payload) {
  for (bool waited = false;; waited = true) {
    wire::MsgReceiveRequest request{};
    request.id = msqid;
    request.msgflg = msgflg;
    request.msgtyp = msgtyp;
    request.bufsz = msgsz;
    request.tid = platform::CurrentThreadId();
    std::vector<backend::UniqueFd> fds;
    auto reply = runtime.Call<wire::Op::kMsgReceive>(request, &fds);
    if (!reply.ok()) return -core::ErrnoOf(reply.status());
    if (reply->status.error == EINVAL && waited) {
      const int denied = recheck();  // removed meanwhile: EIDRM, as in ServedMsgsnd()
      return -(denied != 0 ? denied : EINVAL);
    }
    if (reply->status.error != 0) return -reply->status.error;
    if (reply->queued == 0) {
      if (!TakePayload(*reply, fds, payload)) return -EPROTO;
      *mtype = reply->mtype;
      return reply->size;
    }
    const uint64_t offset = reply->status_offset;
    if (offset % alignof(std::atomic<uint32_t>) != 0 || offset + sizeof(uint32_t) > grant.map.size()) {
      return -EPROTO;  // a daemon that does not know the region
    }
    // Sleep until decided (a message handed over, E2BIG, EIDRM, or woken to
    // look again), or a signal. Not in a region the queue moved out of
    // (core/msg/msg_region.h, "Moving"): the daemon queued the record in
    // the new one, so the wait ends at once, and the caller opens the new
    // region. A move after this look wakes the record here (MoveTo()).
    const auto* status = reinterpret_cast<const std::atomic<uint32_t>*>(
        static_cast<const unsigned char*>(grant.map.data()) + offset);
    const bool moved = static_cast<const core::MsgQueueHeader*>(grant.map.data())
                           ->removed.load(std::memory_order_acquire) == core::kMsgRegionMoved;
    int reason = 0;
    while (!moved && status->load(std::memory_order_acquire) == core::kMsgWaiting) {
      if (InterruptibleWait(status, core::kMsgWaiting, core::Deadline::Infinite(), since) ==
              core::WaitResult::kInterrupted &&
          status->load(std::memory_order_acquire) == core::kMsgWaiting) {
        reason = EINTR;
        break;
      }
    }
    fds.clear();
    auto end = runtime.Call<wire::Op::kMsgReceiveEnd>(
        wire::MsgReceiveEndRequest{msqid, reply->index, reason, 0, msgsz}, &fds);
    if (!end.ok()) return -core::ErrnoOf(end.status());
    if (end->status.error != 0) return -end->status.error;
    if (end->recheck != 0) {
      if (moved) return core::kMsgMoved;
      if (const int denied = recheck(); denied != 0) return -denied;
      continue;
    }
    if (!TakePayload(*end, fds, payload)) return -EPROTO;
    *mtype = end->mtype;
    return end->size;
  }
}

}  // namespace sysv::compat
