// The wire replies of shmctl, semctl and msgctl, made from the core's
// results: by the daemon for what it answers, and by a client for what it
// answers itself from the mapped tables, so that the client turns both
// into the caller's structs by one path and every field is filled alike.
#ifndef SYSV_CORE_PROTOCOL_CTL_REPLIES_H_
#define SYSV_CORE_PROTOCOL_CTL_REPLIES_H_

#include "core/msg/msg_registry.h"
#include "core/protocol/wire.h"
#include "core/sem/sem_registry.h"
#include "core/shm/shm_types.h"

namespace sysv::core::wire {

// A successful call's reply (status.error 0).
ShmCtlReply ShmCtlReplyOf(const ShmCtlResult& result);
SemCtlReply SemCtlReplyOf(const SemCtlResult& result);
MsgCtlReply MsgCtlReplyOf(const MsgCtlResult& result);

}  // namespace sysv::core::wire

#endif  // SYSV_CORE_PROTOCOL_CTL_REPLIES_H_
