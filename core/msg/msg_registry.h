// System V message queues: the table side (msgget, and the msgctl commands
// the daemon answers: IPC_STAT, MSG_STAT, MSG_STAT_ANY, IPC_SET, IPC_RMID,
// IPC_INFO, MSG_INFO), and the permission check of a first access.
//
// msgsnd and msgrcv run in the client on the queue's mapped region
// (core/msg/msg_queue.h), after the same checks (core/msg/msg_checks.h).
//
// Mirrors ipc/msg.c: ksys_msgget() + newque(), msgctl_info(),
// msgctl_stat(), msgctl_down().
//
// Locking: none; the daemon's event-loop thread calls everything.
#ifndef SYSV_CORE_MSG_MSG_REGISTRY_H_
#define SYSV_CORE_MSG_MSG_REGISTRY_H_

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "core/ipc/ipc_registry.h"
#include "core/ipc/limits.h"
#include "core/msg/msg_queue.h"

namespace sysv::core {

// struct msqid_ds.
struct MsgStat {
  IpcPerm perm;
  MsgQueue::Stat queue;
};

// struct msginfo (IPC_INFO and MSG_INFO fill it differently).
struct MsgInfo {
  int32_t msgpool = 0;
  int32_t msgmap = 0;
  int32_t msgmax = 0;
  int32_t msgmnb = 0;
  int32_t msgmni = 0;
  int32_t msgssz = 0;
  int32_t msgtql = 0;
  int32_t msgseg = 0;
};

struct MsgCtlResult {
  int32_t value = 0;
  MsgStat stat;
  MsgInfo info;
};

// Compile-time constants of include/uapi/linux/msg.h that IPC_INFO reports
// (the defaults, whatever the namespace's limits are).
inline constexpr int32_t kMsgDefaultMni = 32000;
inline constexpr int32_t kMsgDefaultMnb = 16384;
inline constexpr int32_t kMsgPool = kMsgDefaultMni * kMsgDefaultMnb / 1024;  // MSGPOOL
inline constexpr int32_t kMsgMap = kMsgDefaultMnb;                           // MSGMAP
inline constexpr int32_t kMsgTql = kMsgDefaultMnb;                           // MSGTQL
inline constexpr int32_t kMsgSsz = 16;                                       // MSGSSZ
inline constexpr int32_t kMsgSeg = 0xffff;                                   // MSGSEG

// Message queue commands (include/uapi/linux/msg.h).
inline constexpr int kMsgStat = 11;
inline constexpr int kMsgInfo = 12;
inline constexpr int kMsgStatAny = 13;

class MsgRegistry {
 public:
  // Where queues live: the daemon's region files.
  class Backing {
   public:
    virtual ~Backing() = default;
    // Creates and formats the region of a new, empty queue.
    virtual absl::Status Create(int32_t index, uint32_t seq, uint64_t qbytes, int64_t ctime) = 0;
    // freeque(): wakes every waiter with EIDRM and deletes the region.
    virtual void Destroy(int32_t index, uint32_t seq) = 0;
    virtual MsgQueue::Stat StatOf(int32_t index, uint32_t seq) = 0;
    // IPC_SET: msg_qbytes and msg_ctime, growing the region as needed.
    virtual absl::Status SetQbytes(int32_t index, uint32_t seq, uint64_t qbytes, int64_t ctime) = 0;
    // Messages and bytes in every queue (MSG_INFO).
    virtual void Totals(uint64_t* messages, uint64_t* bytes) = 0;
  };

  MsgRegistry(IpcRegistry& ids, const MsgLimits& limits, Backing& backing);

  // msgget(2). Errors are IpcRegistry::Get's (ENOSPC: MSGMNI queues).
  absl::StatusOr<int32_t> Get(Key key, int flags, const OpContext& ctx);

  // msgctl(2) for IPC_STAT, MSG_STAT, MSG_STAT_ANY, IPC_SET (with `set`),
  // IPC_RMID, IPC_INFO, MSG_INFO. Errors: EINVAL (negative id, unknown id
  // or command), EACCES (stat without read permission), EPERM (IPC_SET or
  // IPC_RMID by other than owner or creator; msg_qbytes above MSGMNB
  // without CAP_SYS_RESOURCE), EINVAL (IPC_SET ids invalid in the caller's
  // user namespace).
  struct SetArgs {
    uint32_t uid = 0;
    uint32_t gid = 0;
    uint32_t mode = 0;
    uint64_t qbytes = 0;
  };
  absl::StatusOr<MsgCtlResult> Ctl(int32_t id, int cmd, const SetArgs& set, const OpContext& ctx);

  // The checks before a process may map queue `id`: EINVAL (negative or
  // unknown id), EACCES (neither read nor write permission).
  absl::StatusOr<ObjectRecord> CheckOpen(int32_t id, const OpContext& ctx) const;

 private:
  IpcRegistry& ids_;
  const MsgLimits& limits_;
  Backing& backing_;
};

// msgctl(IPC_INFO or MSG_INFO) (msgctl_info()) of a namespace with these
// limits, the highest index in use `max_index` (the value; 0 when none);
// MSG_INFO also reports `in_use` queues holding `messages` messages of
// `bytes` bytes in all.
MsgCtlResult MsgInfoOf(int cmd, const MsgLimits& limits, int32_t max_index, int32_t in_use, uint64_t messages,
                       uint64_t bytes);

// IPC_INFO answered from what the daemon published in `table`'s header (a
// null `table`: not mapped yet)
// (ObjectTable::ReadInfo), through MsgInfoOf as the daemon answers it.
// nullopt (ask the daemon): nothing published, or MSG_INFO, whose message
// and byte totals are in the queues' regions, summed by the daemon.
std::optional<MsgCtlResult> LocalMsgInfo(const ObjectTable* table, int cmd);

}  // namespace sysv::core

#endif  // SYSV_CORE_MSG_MSG_REGISTRY_H_
