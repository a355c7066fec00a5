// The object table of one IPC kind: a region the daemon writes and every
// client maps read-only.
//
// Layout: a 4 KiB header, then `capacity` fixed-size entries, entry i holding
// the object whose id has index i. The table is both the daemon's persistent
// record of every object (it survives a daemon restart because the region is a
// file) and what clients read on the fast paths to check an id, its
// permissions and its state without asking the daemon.
//
// Locking: the daemon is the only writer, single-threaded. Each entry is a
// seqlock: `version` is odd while the daemon writes the entry. Every field is
// a relaxed atomic so concurrent readers are data-race free.
//
// Memory ordering:
//   TABLE_BARRIER_WRITE: the writer bumps `version` to odd, then (release
//   fence) writes fields, then stores `version` even with release. Pairs with
//   TABLE_BARRIER_READ: the reader loads `version` with acquire, reads fields,
//   then an acquire fence and re-loads `version`.
//
// Untrusted input: a reader never trusts the table beyond bounds it checks
// itself (capacity against the region size, seq against the id). A daemon
// killed while writing leaves `version` odd; readers give up after a bounded
// number of attempts (the caller then asks the daemon), and the daemon's
// recovery makes every version even again.
#ifndef SYSV_CORE_IPC_OBJECT_TABLE_H_
#define SYSV_CORE_IPC_OBJECT_TABLE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "core/ipc/ipc_perm.h"

namespace sysv::core {

enum class IpcKind : uint32_t { kShm = 1, kSem = 2, kMsg = 3 };

enum class EntryState : uint32_t {
  kFree = 0,
  kLive = 1,
  // The daemon is deciding whether to destroy the object (a removed segment
  // whose last attachment may be gone). Readers wait for the verdict; see
  // LEDGER_BARRIER_ATTACH in core/shm/attach_ledger.h.
  kDying = 2,
};

// A plain copy of one entry, as read under the seqlock.
struct ObjectRecord {
  EntryState state = EntryState::kFree;
  IpcPerm perm;
  int32_t cpid = 0;
  int32_t lpid = 0;
  int64_t ctime = 0;       // seconds since the epoch
  int64_t atime = 0;       // shm: last attach; sem: last semop; msg: last send
  int64_t dtime = 0;       // shm: last detach; msg: last receive
  int64_t last_op_ns = 0;  // realtime ns of the event that set lpid
  uint64_t size = 0;       // shm: bytes; sem: nsems; msg: qbytes
  uint64_t aux0 = 0;       // per kind
  uint64_t aux1 = 0;       // per kind
  // shm only: which live client processes hold a grant of the segment
  // (core/shm/shm_grants.h), so that a client can tell whether its own
  // attach ledger is the only one the daemon's census would count: 0 none,
  // a pid when that process alone holds one, kManyHolders otherwise. Kept
  // by the daemon (daemon/client_registry.h); 0 for the other kinds.
  int32_t holder = 0;
  // The entry's seqlock version this copy was read at (Read() fills it in;
  // Write() ignores it): a reader may keep a verdict drawn from the copy
  // while ObjectTable::Version() still says this.
  uint32_t version = 0;
};

inline constexpr int32_t kManyHolders = -1;

struct alignas(8) ObjectEntry {
  std::atomic<uint32_t> version;  // seqlock (see TABLE_BARRIER_*)
  std::atomic<uint32_t> state;
  std::atomic<uint32_t> seq;
  std::atomic<int32_t> key;
  std::atomic<uint32_t> uid;
  std::atomic<uint32_t> gid;
  std::atomic<uint32_t> cuid;
  std::atomic<uint32_t> cgid;
  std::atomic<uint32_t> mode;
  std::atomic<int32_t> cpid;
  std::atomic<int32_t> lpid;
  std::atomic<int32_t> holder;  // ObjectRecord::holder
  std::atomic<int64_t> ctime;
  std::atomic<int64_t> atime;
  std::atomic<int64_t> dtime;
  std::atomic<int64_t> last_op_ns;
  std::atomic<uint64_t> size;
  std::atomic<uint64_t> aux0;
  std::atomic<uint64_t> aux1;
  // The key index's links (core/ipc/key_index.h), outside the seqlock:
  // each word is consistent on its own and only a hint.
  std::atomic<uint32_t> key_head;  // bucket of this index: first entry
  std::atomic<uint32_t> key_next;  // this entry's chain: next entry
  std::atomic<uint32_t> key_prev;  // this entry's chain: previous entry
  std::atomic<uint32_t> padding[3];
};
static_assert(sizeof(ObjectEntry) == 128);
static_assert(std::atomic<uint32_t>::is_always_lock_free);
static_assert(std::atomic<uint64_t>::is_always_lock_free);

struct ObjectTableHeader {
  static constexpr uint64_t kMagic = 0x4C42545643505953;  // "SYPCVTBL" in memory
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kSize = 4096;

  std::atomic<uint64_t> magic;
  std::atomic<uint32_t> layout_version;
  std::atomic<uint32_t> kind;
  std::atomic<uint32_t> entry_size;
  std::atomic<uint32_t> capacity;
  // The id allocator's position, so that ids keep advancing across restarts.
  std::atomic<int32_t> last_index;
  std::atomic<uint32_t> last_seq;
  // Chosen when the namespace is created; a client that sees it change knows
  // every id and descriptor it cached is void.
  std::atomic<uint64_t> namespace_id;
  // A limit clients check themselves before asking anything: SEMOPM for the
  // sem table. The daemon writes it at every start.
  std::atomic<uint32_t> op_limit;
  // A limit a client needs to answer a *get of an existing key itself:
  // SEMMSL for the sem table (semget checks nsems against it first). The
  // daemon writes it at every start; 0 (a table written before it existed)
  // means unknown: ask the daemon.
  std::atomic<uint32_t> get_limit;
  // What IPC_INFO and SEM_INFO answer (TableInfo), so that a client can
  // answer them without asking: a seqlock of its own (`info_version`, the
  // protocol of TABLE_BARRIER_WRITE/READ) over the fields after it.
  // `info_published` 0 means the daemon has not published them since it
  // started (or the table predates them): ask the daemon.
  std::atomic<uint32_t> info_version;
  std::atomic<uint32_t> info_published;
  std::atomic<int32_t> info_max_index;
  std::atomic<int32_t> info_in_use;
  std::atomic<uint64_t> info_units;
  std::atomic<uint64_t> info_limits[4];
};
static_assert(sizeof(ObjectTableHeader) <= ObjectTableHeader::kSize);

// The counts and limits behind IPC_INFO and SEM_INFO, as the daemon
// publishes them in a table's header.
struct TableInfo {
  // ipc_get_maxidx(): the highest index in use (live or dying), or -1.
  int32_t max_index = -1;
  // ids->in_use.
  int32_t in_use = 0;
  // The sum of every object's ObjectRecord::size (sem: ns->used_sems).
  uint64_t units = 0;
  // The kind's limits, packed by core/ipc/table_limits.h.
  uint64_t limits[4] = {};
};

// Bytes a table of `capacity` entries occupies.
constexpr size_t ObjectTableSize(uint32_t capacity) {
  return ObjectTableHeader::kSize + size_t{capacity} * sizeof(ObjectEntry);
}

// A view of a mapped table. Does not own the memory.
class ObjectTable {
 public:
  // Formats `len` bytes at `base` as an empty table (daemon, new namespace).
  static absl::StatusOr<ObjectTable> Format(void* base, size_t len, IpcKind kind,
                                            uint32_t capacity, uint64_t namespace_id = 0);
  // Validates an existing table: magic, version, kind, and that the capacity
  // fits in `len`. Never trusts a field it has not checked.
  static absl::StatusOr<ObjectTable> Open(void* base, size_t len, IpcKind kind);

  uint32_t capacity() const { return capacity_; }
  IpcKind kind() const { return kind_; }
  ObjectTableHeader& header() const { return *header_; }

  // Reads entry `index` under its seqlock. Fails with EAGAIN when the entry
  // stayed odd for every attempt (a writer died or is very slow), and with
  // EINVAL when `index` is out of range.
  absl::StatusOr<ObjectRecord> Read(int32_t index) const;
  // The live object `id` names, as ipc_obtain_object_check() finds it:
  // EINVAL for a negative id, an index outside the table, an entry being
  // rewritten, a free slot or another sequence number. `what` ("message
  // queue") names the kind in the message.
  absl::StatusOr<ObjectRecord> ReadLive(int32_t id, const char* what) const;

  // The seqlock word of entry `index`, for a reader that keeps a verdict
  // drawn from Read() (a permission check) while the entry is unchanged:
  // the daemon bumps it at every write, and it is odd during one.
  // REQUIRES: 0 <= index < capacity().
  const std::atomic<uint32_t>& Version(int32_t index) const { return entries_[index].version; }

  // The key index's link words of entry `index` (core/ipc/key_index.h).
  // REQUIRES: 0 <= index < capacity().
  const ObjectEntry& Links(int32_t index) const { return entries_[index]; }
  ObjectEntry& Links(int32_t index) { return entries_[index]; }

  // Writes entry `index` under its seqlock (daemon only).
  void Write(int32_t index, const ObjectRecord& record);

  // Publishes `info` in the header (daemon only), or, given nullopt, marks
  // it unknown (a daemon that has not yet established it).
  void PublishInfo(const std::optional<TableInfo>& info);
  // The published info, read under its seqlock; nullopt when none is
  // published or it stayed torn for every attempt (then ask the daemon).
  // Validates nothing beyond that: the values are the daemon's own.
  std::optional<TableInfo> ReadInfo() const;

  // Makes every odd version even (daemon recovery after a crash mid-write):
  // the fields are individually valid values, so the entry is kept as is.
  // Returns how many entries were repaired.
  int RepairTornEntries();

 private:
  ObjectTable(ObjectTableHeader* header, ObjectEntry* entries, uint32_t capacity,
              IpcKind kind)
      : header_(header), entries_(entries), capacity_(capacity), kind_(kind) {}

  ObjectTableHeader* header_;
  ObjectEntry* entries_;
  uint32_t capacity_;
  IpcKind kind_;
};

}  // namespace sysv::core

#endif  // SYSV_CORE_IPC_OBJECT_TABLE_H_
