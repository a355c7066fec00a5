#include "core/ipc/table_limits.h"

#include <atomic>

namespace sysv::core {
namespace {

// An int limit may be negative (a sysctl write of SEMOPM): kept as its
// two's complement, read back as the same int.
uint64_t FromInt(int32_t value) { return static_cast<uint64_t>(static_cast<int64_t>(value)); }
int32_t ToInt(uint64_t value) { return static_cast<int32_t>(static_cast<int64_t>(value)); }

}  // namespace

void PackLimits(const ShmLimits& limits, PackedLimits& out) {
  out[0] = limits.shmmax;
  out[1] = limits.shmmin;
  out[2] = limits.shmall;
  out[3] = FromInt(limits.shmmni);
}

void PackLimits(const SemLimits& limits, PackedLimits& out) {
  out[0] = FromInt(limits.semmsl);
  out[1] = FromInt(limits.semmns);
  out[2] = FromInt(limits.semopm);
  out[3] = FromInt(limits.semmni);
}

void PackLimits(const MsgLimits& limits, PackedLimits& out) {
  out[0] = FromInt(limits.msgmax);
  out[1] = FromInt(limits.msgmnb);
  out[2] = FromInt(limits.msgmni);
  out[3] = 0;
}

ShmLimits UnpackShmLimits(const PackedLimits& in) {
  ShmLimits limits;
  limits.shmmax = in[0];
  limits.shmmin = in[1];
  limits.shmall = in[2];
  limits.shmmni = ToInt(in[3]);
  return limits;
}

SemLimits UnpackSemLimits(const PackedLimits& in) {
  SemLimits limits;
  limits.semmsl = ToInt(in[0]);
  limits.semmns = ToInt(in[1]);
  limits.semopm = ToInt(in[2]);
  limits.semmni = ToInt(in[3]);
  return limits;
}

MsgLimits UnpackMsgLimits(const PackedLimits& in) {
  MsgLimits limits;
  limits.msgmax = ToInt(in[0]);
  limits.msgmnb = ToInt(in[1]);
  limits.msgmni = ToInt(in[2]);
  return limits;
}

void PublishTableLimits(const NamespaceLimits& limits, IpcRegistry& shm, IpcRegistry& sem, IpcRegistry& msg) {
  PackedLimits packed;
  PackLimits(limits.shm, packed);
  shm.PublishLimits(packed);
  PackLimits(limits.sem, packed);
  sem.PublishLimits(packed);
  PackLimits(limits.msg, packed);
  msg.PublishLimits(packed);
  // The kernel compares semop's unsigned count with SEMOPM as unsigned: a
  // negative SEMOPM allows any count, as this conversion does.
  sem.table().header().op_limit.store(static_cast<uint32_t>(limits.sem.semopm), std::memory_order_relaxed);
  // Clients answer semget of an existing key themselves (core/ipc/local_get.h),
  // checking nsems against SEMMSL first.
  sem.table().header().get_limit.store(static_cast<uint32_t>(limits.sem.semmsl), std::memory_order_relaxed);
  // Clients check msgsnd's size against MSGMAX themselves.
  msg.table().header().op_limit.store(static_cast<uint32_t>(limits.msg.msgmax), std::memory_order_relaxed);
}

}  // namespace sysv::core
