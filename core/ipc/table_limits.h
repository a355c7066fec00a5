// The namespace's limits as the object tables' headers carry them for
// clients: what IPC_INFO reports (TableInfo::limits, packed per kind) and
// the limits a client checks itself (ObjectTableHeader::op_limit and
// get_limit).
//
// One function publishes them all, at the daemon's start and after every
// sysctl write, so that no header is left behind when a limit changes.
#ifndef SYSV_CORE_IPC_TABLE_LIMITS_H_
#define SYSV_CORE_IPC_TABLE_LIMITS_H_

#include <cstdint>

#include "core/ipc/ipc_registry.h"
#include "core/ipc/limits.h"

namespace sysv::core {

using PackedLimits = uint64_t[4];

// Each kind's IPC_INFO limits in TableInfo::limits, and back.
void PackLimits(const ShmLimits& limits, PackedLimits& out);
void PackLimits(const SemLimits& limits, PackedLimits& out);
void PackLimits(const MsgLimits& limits, PackedLimits& out);
ShmLimits UnpackShmLimits(const PackedLimits& in);
SemLimits UnpackSemLimits(const PackedLimits& in);
MsgLimits UnpackMsgLimits(const PackedLimits& in);

// Writes `limits` into the three tables' headers (daemon only).
void PublishTableLimits(const NamespaceLimits& limits, IpcRegistry& shm, IpcRegistry& sem, IpcRegistry& msg);

}  // namespace sysv::core

#endif  // SYSV_CORE_IPC_TABLE_LIMITS_H_
