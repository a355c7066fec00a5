// A thread's remembered ipcperms() verdict on one object, so that the next
// msgsnd/msgrcv/semop on it needs no table read (the fast paths of
// msg_api.cc and sem_api.cc keep one each).
//
// The verdict holds while nothing it was drawn from changed:
//   - the published table (a new one after a daemon restart);
//   - the caller's credentials (credential_cache.h: a new snapshot, at a new
//     address, after every set*id/setgroups call);
//   - the object's table entry, whose seqlock version the daemon bumps at
//     every write (IPC_SET, IPC_RMID, a new object in the same slot).
// Any change sends the call through the full checks, which give the kernel's
// errors. Whether the object is the one the thread's grant names (id, grant
// epoch) is the caller's to check.
#ifndef SYSV_COMPAT_ACCESS_VERDICT_H_
#define SYSV_COMPAT_ACCESS_VERDICT_H_

#include <atomic>
#include <cstdint>

#include "core/ipc/credentials.h"
#include "core/ipc/ipc_constants.h"
#include "core/ipc/ipc_perm.h"
#include "core/ipc/object_table.h"

namespace sysv::compat {

class AccessVerdict {
 public:
  // Draws the verdict from `record`, read from entry `index` of `table`
  // (under its seqlock: record.version is the read's own).
  void Remember(const core::ObjectTable& table, int32_t index, const core::ObjectRecord& record,
                const core::Credentials* creds) {
    Forget();
    if (static_cast<uint32_t>(index) >= table.capacity()) return;
    may_read_ = core::HasIpcPermission(record.perm, *creds, core::kAccessRead);
    may_write_ = core::HasIpcPermission(record.perm, *creds, core::kAccessWrite);
    table_ = &table;
    version_ = &table.Version(index);
    creds_ = creds;
    seen_version_ = record.version;
  }

  void Forget() { table_ = nullptr; }

  // Whether the verdict still holds on `table` for `creds`.
  bool Holds(const core::ObjectTable* table, const core::Credentials* creds) const {
    return table_ != nullptr && table_ == table && creds_ == creds &&
           version_->load(std::memory_order_acquire) == seen_version_;
  }

  // ipcperms() for kAccessRead or kAccessWrite, as it was when remembered.
  bool Allows(int access) const { return access == core::kAccessRead ? may_read_ : may_write_; }

 private:
  const core::ObjectTable* table_ = nullptr;  // nullptr: no verdict
  const std::atomic<uint32_t>* version_ = nullptr;
  uint32_t seen_version_ = 0;
  const core::Credentials* creds_ = nullptr;
  bool may_read_ = false;
  bool may_write_ = false;
};

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_ACCESS_VERDICT_H_
