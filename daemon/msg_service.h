// The message queue requests: msgget, the first access to a queue, and
// every msgctl command; the msgsnd and msgrcv of callers that may not map a
// queue writable (read-only: msgrcv, MSG_COPY; write-only: msgsnd), which
// the daemon runs for them; plus the exit-time cleanup for dead clients.
//
// A served call never waits in the daemon: a busy lock answers
// Reply::busy (the server parks the request and asks again), a send that
// finds the queue full answers EAGAIN (the caller waits and asks again),
// and a receive that must wait queues a receiver record for the caller in
// the region, among every other receiver in arrival order, on whose status
// word the caller sleeps in its read-only mapping (wire.h, kMsgReceive).
#ifndef SYSV_DAEMON_MSG_SERVICE_H_
#define SYSV_DAEMON_MSG_SERVICE_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/ipc/ipc_registry.h"
#include "core/ipc/limits.h"
#include "core/msg/msg_registry.h"
#include "core/protocol/wire.h"
#include "daemon/held_waits.h"
#include "daemon/msg_store.h"
#include "daemon/pending_exits.h"
#include "daemon/reply.h"

namespace sysv::daemon {

class MsgService {
 public:
  // `sealed`: the sealed regions of every kind (outlives the service).
  MsgService(core::ObjectTable table, const core::NamespaceLimits& limits, core::UserQuota* quota, int msg_dir_fd,
             SealedObjects* sealed);
  // Checks the regions of the live queues, sealed ones (from the fd keeper)
  // and files, and removes those no live queue names: once, at daemon
  // start, after `sealed` has its keeper (SealedObjects::UseKeeper).
  void Recover();

  Reply Get(uint32_t request_id, const core::wire::MsgGetRequest& request, const core::OpContext& ctx);
  Reply Open(uint32_t request_id, const core::wire::MsgOpenRequest& request, const core::OpContext& ctx);
  Reply Ctl(uint32_t request_id, const core::wire::MsgCtlRequest& request, const core::OpContext& ctx);
  // Served msgsnd (write permission) and its staged parts.
  Reply Send(uint32_t request_id, const core::wire::MsgSendRequest& request, const core::OpContext& ctx);
  Reply SendPart(uint32_t request_id, const core::wire::MsgSendPartRequest& request, const core::OpContext& ctx);
  // Served msgrcv (read permission). A wait is held for one thread of the
  // caller at a time (the request names it; EINVAL when it is not the
  // caller's; its new request ends the wait it left behind, as EINTR), and
  // at most UserLimits::waits per user on one queue (ENOMEM beyond), so
  // that a reader cannot fill the arena with receiver records.
  Reply Receive(uint32_t request_id, const core::wire::MsgReceiveRequest& request, const core::OpContext& ctx);
  Reply ReceiveEnd(uint32_t request_id, const core::wire::MsgReceiveEndRequest& request,
                   const core::OpContext& ctx);

  // Drops a dead process's waiter records from every queue that has any
  // (a message handed to it and not taken goes back to the queue). A queue
  // whose lock is busy is left to RetryPendingExits().
  void ProcessExited(int32_t pid);
  // Repairs the regions whose mappings faulted (a client cut their files
  // short under the daemon): see the store's RepairFaulted().
  void RepairFaulted() { store_.RepairFaulted(); }
  // One background pass over the cleanup that found a queue's lock busy
  // (daemon/pending_exits.h), run by the server's retry timer, never in
  // front of a request. Returns whether any of it was done.
  bool RetryPendingExits();
  bool HasPendingExits() const { return !pending_exits_.empty(); }

  // A client changed region file `name` through its descriptor
  // (platform::FileChangeWatch): see the store's Trim().
  void TakeBack(const std::string& name) { store_.Trim(name); }
  int dir_fd() const { return store_.dir_fd(); }

  // The id registry, whose *MNI limit and next id the sysctls set
  // (daemon/sysctl_service.h).
  core::IpcRegistry& ids() { return ids_; }

 private:
  void ExitOnQueue(int32_t pid, int32_t index, uint32_t seq, core::MsgQueue& queue);

  const core::NamespaceLimits& limits_;
  PendingExits pending_exits_;
  HeldWaits held_receives_;
  // The message a served sender stages in parts (kMsgSendPart), per
  // process: at most MSGMAX bytes each, dropped when the process exits.
  absl::flat_hash_map<int32_t, std::vector<uint8_t>> staged_;
  MsgStore store_;
  core::IpcRegistry ids_;
  core::MsgRegistry registry_;
};

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_MSG_SERVICE_H_
