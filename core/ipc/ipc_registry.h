// The key and id tables of one IPC kind, and the one get algorithm that
// shmget, semget and msgget share.
//
// Mirrors ipc/util.c: ipcget() dispatches to ipcget_new() (IPC_PRIVATE) or
// ipcget_public(), parameterised by per-kind hooks as struct ipc_ops is
// (getnew's checks, more_checks). The registry owns the in-memory key map and
// id allocator; the object table it writes is the persistent, client-visible
// record.
//
// Locking: none. The daemon calls every method from its single event-loop
// thread.
#ifndef SYSV_CORE_IPC_IPC_REGISTRY_H_
#define SYSV_CORE_IPC_IPC_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/ipc/credentials.h"
#include "core/ipc/ipc_id.h"
#include "core/ipc/object_table.h"
#include "core/ipc/user_quota.h"

namespace sysv::core {

// What an operation knows about its caller and the moment it runs.
struct OpContext {
  const Credentials& creds;
  int64_t now_ns = 0;  // CLOCK_REALTIME, nanoseconds
  // shmget's size: the bytes a new segment would charge to its creator's
  // quota (core/ipc/user_quota.h). Unused by the other kinds.
  uint64_t new_object_bytes = 0;
  int64_t now_seconds() const { return now_ns / 1'000'000'000; }
};

class IpcRegistry {
 public:
  // Rebuilds the key map from `table` (a new or recovered namespace), and
  // charges every object to its creator in `quota`, the namespace's per-user
  // ledger shared by the registries of all three kinds (core/ipc/
  // user_quota.h; null: no quotas). `max_objects` is the kind's *MNI limit.
  IpcRegistry(ObjectTable table, int32_t max_objects, UserQuota* quota = nullptr);

  // The per-kind hooks of ipcget(), in the order the kernel calls them.
  struct GetHooks {
    // ops->getnew's checks before an id is allocated (size, totals).
    std::function<absl::Status()> check_new;
    // ops->getnew's construction once a slot is reserved: fill the
    // kind-specific fields of `record` and create its backing. An error
    // releases the slot.
    std::function<absl::Status(int32_t index, uint32_t seq, ObjectRecord& record)> create;
    // ops->more_checks on an existing object (shm: size), before ipcperms().
    std::function<absl::Status(const ObjectRecord& record)> more_checks;
  };

  // ipcget(): returns the id for `key` per `flags`, creating an object when
  // asked to. Errors, in the kernel's order:
  //   existing key: EEXIST (IPC_CREAT|IPC_EXCL), more_checks' error, EACCES
  //   (the permission bits of `flags` not granted);
  //   new object: ENOENT (no IPC_CREAT), check_new's error, ENOSPC (the
  //   creator's quota, core/ipc/user_quota.h), ENOSPC (no free id below the
  //   *MNI limit), create's error.
  absl::StatusOr<int32_t> Get(Key key, int flags, const OpContext& ctx, const GetHooks& hooks);

  // ipc_obtain_object_check(): the live object with this id, or EINVAL.
  absl::StatusOr<ObjectRecord> FindById(int32_t id) const;
  // ipcctl_obtain_check(), for IPC_SET and IPC_RMID: the live object `id`
  // (EINVAL), if the caller owns or created it (EPERM, naming `what`: "a
  // segment", "a set", "a queue").
  absl::StatusOr<ObjectRecord> FindForChange(int32_t id, const Credentials& creds, const char* what) const;
  // ipc_obtain_object_idr(): the live object at this index, or EINVAL.
  absl::StatusOr<ObjectRecord> FindByIndex(int32_t index) const;

  // The lookup of the *_STAT commands (ipc/util.c's callers of
  // ipc_obtain_object_check() and ipc_obtain_object_idr()): IPC_STAT names
  // an object by id; SHM_STAT, SEM_STAT, MSG_STAT and their _ANY forms by
  // index, and return the object's id (in `*stat_id`). Then ipcperms() for
  // read, except for the _ANY forms. Errors: EINVAL (no such object),
  // EACCES.
  enum class StatLookup { kById, kByIndex, kByIndexAny };
  // The lookup of command `cmd`: IPC_STAT, the kind's *_STAT (`stat_cmd`),
  // or else its *_STAT_ANY.
  static StatLookup StatLookupFor(int cmd, int stat_cmd);
  absl::StatusOr<ObjectRecord> FindForStat(int32_t id, StatLookup lookup, const Credentials& creds,
                                           int32_t* stat_id) const;

  // Rewrites a live object's record (and moves its quota charge: IPC_SET
  // of msg_qbytes changes what a queue is charged).
  void Update(int32_t index, const ObjectRecord& record);
  // Whether `record`'s creator may be charged for it growing to `new_size`
  // bytes (IPC_SET of msg_qbytes): EPERM past the creator's quota, OK
  // without quotas or when it does not grow.
  absl::Status CheckGrowth(const ObjectRecord& record, uint64_t new_size) const;
  // Forgets the key of a live object (IPC_RMID of a still attached segment):
  // later gets of the key do not find it, and its key reads IPC_PRIVATE.
  void DropKey(int32_t index);
  // Frees the slot and its key (ipc_rmid()), and releases the object's
  // quota charge.
  void Remove(int32_t index);

  int32_t in_use() const { return in_use_; }
  // ipc_get_maxidx(): the highest index in use, or -1.
  int32_t max_index_in_use() const { return max_index_; }
  // The sum of every object's ObjectRecord::size (sem: ns->used_sems).
  uint64_t total_size() const { return total_size_; }

  // The kind's limits as IPC_INFO reports them, packed (core/ipc/
  // table_limits.h). From the first call on, the table's header carries
  // them with in_use(), max_index_in_use() and total_size(), republished
  // at every change before the daemon answers anyone, so that a client may
  // answer IPC_INFO and SEM_INFO itself (ObjectTable::ReadInfo).
  void PublishLimits(const uint64_t (&limits)[4]);
  int32_t max_objects() const { return max_objects_; }
  void set_max_objects(int32_t max_objects) { max_objects_ = max_objects; }
  // The kernel's ids->next_id (the *_next_id sysctl, core/ipc/sysctl.h), or
  // -1: the next object created gets this id's sequence number and the
  // first free index from this id's up (ipc_idr_alloc()), and the value
  // goes back to -1 once an object is created. Kept in memory only.
  int32_t next_id() const { return next_id_; }
  void set_next_id(int32_t id) { next_id_ = id; }
  ObjectTable& table() { return table_; }
  const ObjectTable& table() const { return table_; }

  // Calls fn(index, record) for every live object, by index.
  void ForEachLive(const std::function<void(int32_t, const ObjectRecord&)>& fn) const;

 private:
  absl::StatusOr<int32_t> CreateNew(Key key, int flags, const OpContext& ctx,
                                    const GetHooks& hooks);

  // The quota ledger's view of a record (nothing for a free slot).
  void Charge(const ObjectRecord& record);
  void Release(const ObjectRecord& record);

  ObjectTable table_;
  int32_t max_objects_;
  UserQuota* quota_;  // not owned; null: no quotas
  IpcIdAllocator allocator_;
  int32_t next_id_ = -1;
  // Whether entry `index` holds an object (or cannot be read: then it is
  // never taken).
  bool IndexInUse(int32_t index) const;
  // The header's TableInfo, republished from these.
  void PublishInfo();

  absl::flat_hash_map<Key, int32_t> index_by_key_;
  int32_t in_use_ = 0;
  int32_t max_index_ = -1;
  uint64_t total_size_ = 0;
  std::optional<TableInfo> info_;  // nullopt until PublishLimits()
};

}  // namespace sysv::core

#endif  // SYSV_CORE_IPC_IPC_REGISTRY_H_
