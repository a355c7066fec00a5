// msgsnd and msgrcv for a process that may not map the queue writable: the
// daemon runs them (wire.h, kMsgSend ... kMsgReceiveEnd), and this side
// waits as the kernel's caller would.
//
// A reader's msgrcv that must wait sleeps on the status word of the
// receiver record the daemon queued for it, in its read-only mapping: the
// record is in the queue's receiver list in arrival order, so a sender on
// the region hands it a message (pipelined_send()) exactly as it would a
// receiver of its own, and wakes it. A writer's msgsnd that finds the queue
// full has nothing to sleep on (it maps nothing: a mapping would show it
// the messages): it waits and asks again, every kServedSendPoll at first,
// backing off to kServedSendPollMax (README: differences from the kernel).
#ifndef SYSV_COMPAT_MSG_SERVED_H_
#define SYSV_COMPAT_MSG_SERVED_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "compat/runtime.h"

namespace sysv::compat {

inline constexpr absl::Duration kServedSendPoll = absl::Microseconds(200);
inline constexpr absl::Duration kServedSendPollMax = absl::Milliseconds(20);

// After a wait, the kernel's loops check permission again (and whether the
// queue is gone): 0 to go on, else the errno.
using MsgRecheck = std::function<int()>;

// msgsnd of `text` with type `mtype`, the arguments checked. `since` is the
// call's signal epoch. Returns 0 or the errno.
int ServedMsgsnd(Runtime& runtime, int msqid, int64_t mtype, absl::Span<const uint8_t> text, int msgflg,
                 uint64_t since, const MsgRecheck& recheck);

// msgrcv into `*payload` (its type in `*mtype`), the arguments checked;
// `grant` maps the queue read-only. Returns the bytes received or -errno;
// core::kMsgMoved when `grant` maps a region the queue moved out of (the
// caller opens the queue again and calls again).
int64_t ServedMsgrcv(Runtime& runtime, const MsgGrant& grant, int msqid, int64_t msgtyp, int msgflg, uint64_t msgsz,
                     uint64_t since, const MsgRecheck& recheck, int64_t* mtype, std::vector<uint8_t>* payload);

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_MSG_SERVED_H_
