// The attach ledger: one region per client process, in which that process
// records how many times it has each shared memory segment attached.
//
// Why a ledger and not a shared nattch counter: a process killed at any
// instruction must not leave a count wrong. Each process writes only its own
// ledger, with single atomic stores, so there is never a half-done update to
// repair; the daemon computes shm_nattch as the sum over live processes'
// ledgers and, when a process dies, folds its ledger into the segment's record
// (shm_dtime, shm_lpid, as the kernel's exit-time detach does) and deletes it.
// This is also what lets shmat of a known segment skip the daemon.
//
// Layout: a 4 KiB header, then one entry per shm table index, of which the
// file holds only a prefix: `entries` of them (issue #13 item 4). A process
// writes only the entries of segments the daemon granted it, so the daemon
// makes a new ledger one page (the header; a forked child's also holds its
// inherited grants' entries) and, before it grants a segment whose entry
// lies past the end, extends the file by whole pages of entries (allocated,
// so that no write to them can fault for want of space) and then raises
// `entries`. Nothing else changes the file's size: growth or cuts through
// the client's descriptor are taken back (ClientRegistry::TakeBack). So a
// ledger takes 4 KiB plus 4 KiB per 128 table indexes up to the highest it
// was granted, instead of all of them (1 MiB at shmmni 32768) at once.
//
// The client maps the whole layout (AttachLedgerSize(capacity)), as address
// space only, and touches an entry only below `entries` as it reads it: a
// page past the file's end would raise SIGBUS. A client that scribbles
// `entries` can only fault itself or hide its own entries; the daemon never
// reads past what it mapped (the file's size, which it set).
//
// Locking: the owning process's threads update entries with atomic RMW
// operations; the daemon only reads a live ledger. Nobody else maps it.
//
// Memory ordering:
//   LEDGER_BARRIER_ATTACH: shmat increments `count` (seq_cst), then re-reads the
//   object table entry (seq_cst) to confirm the segment was not destroyed in
//   between. Pairs with the daemon's destroy, which marks the segment dying
//   (seq_cst) before summing ledgers (seq_cst): one of the two sees the other.
//
// Untrusted input: the daemon treats a ledger as the owning client's claim
// (DESIGN.md, trust model rule 4). It believes an entry only for a segment
// that process was granted (core/shm/shm_grants.h: the daemon handed it a
// descriptor of the segment, or it inherited one across fork), both when
// counting (shm_nattch, shm_lpid, shm_atime, shm_dtime, the destroy after
// IPC_RMID) and when folding the ledger at exit or exec. Counts are clamped
// to [0, INT32_MAX] and entries whose seq does not match the live segment
// are ignored. So scribbling on a ledger can only misstate the scribbler's
// own attachments to segments it holds (which shmat and shmdt could make
// up to any number too), never another segment's: a count it inflates
// keeps a removed segment it holds alive until it exits, as its real
// attachment would.
#ifndef SYSV_CORE_SHM_ATTACH_LEDGER_H_
#define SYSV_CORE_SHM_ATTACH_LEDGER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"

namespace sysv::core {

struct AttachLedgerEntry {
  std::atomic<uint32_t> seq;              // the segment id's sequence number
  std::atomic<int32_t> count;             // attachments held by this process
  std::atomic<int64_t> last_attach_ns;    // CLOCK_REALTIME of the latest shmat
  std::atomic<int64_t> last_detach_ns;    // CLOCK_REALTIME of the latest shmdt
  std::atomic<uint64_t> reserved;
};
static_assert(sizeof(AttachLedgerEntry) == 32);

struct AttachLedgerHeader {
  static constexpr uint64_t kMagic = 0x5244474C54544153;  // "SATTLGDR" in memory
  // 2: the file holds `entries` entries, not `capacity`.
  static constexpr uint32_t kVersion = 2;
  static constexpr size_t kSize = 4096;
  static constexpr uint32_t kSemSetCapacity = 1000;

  std::atomic<uint64_t> magic;
  std::atomic<uint32_t> layout_version;
  std::atomic<uint32_t> capacity;
  std::atomic<int32_t> pid;  // informational; the daemon keeps its own copy
  // The semaphore sets (table indexes) this process has used: its undo
  // records and queued operations are there, and the daemon must visit them
  // when it dies. A process can use a set it never opened itself (a forked
  // child inherits its parent's mappings), so the process says so here.
  // More than kSemSetCapacity: `sem_sets_overflow`, and the daemon visits
  // every set.
  std::atomic<uint32_t> sem_set_count;
  std::atomic<uint32_t> sem_sets_overflow;
  std::atomic<uint32_t> sem_sets[kSemSetCapacity];
  // Entries the file holds now (the prefix of `capacity`). Written by the
  // daemon only after the file holds them (release); read by the client
  // before it touches an entry (acquire).
  std::atomic<uint32_t> entries;
};
static_assert(sizeof(AttachLedgerHeader) <= AttachLedgerHeader::kSize);

constexpr size_t AttachLedgerSize(uint32_t capacity) {
  return AttachLedgerHeader::kSize + size_t{capacity} * sizeof(AttachLedgerEntry);
}

// How many entries a ledger of `capacity` must hold for the entry of
// segment `index`: whole pages of entries up to it, at most `capacity`.
constexpr uint32_t AttachLedgerEntriesFor(int32_t index, uint32_t capacity) {
  constexpr uint32_t kPerPage = AttachLedgerHeader::kSize / sizeof(AttachLedgerEntry);
  const uint32_t entries = (static_cast<uint32_t>(index) / kPerPage + 1) * kPerPage;
  return entries < capacity ? entries : capacity;
}

// What the daemon learns about one segment from one ledger.
struct LedgerSummary {
  int64_t nattch = 0;
  int64_t last_attach_ns = 0;
  int64_t last_detach_ns = 0;
};

// A view of a mapped ledger. Does not own the memory. `len` is what is
// mapped: the daemon maps the file (the header and the entries it holds),
// the client the whole layout; entries are touched below both `len` and the
// header's `entries`.
class AttachLedger {
 public:
  // Formats the header and the entries `len` holds (at most `capacity`).
  static absl::StatusOr<AttachLedger> Format(void* base, size_t len, uint32_t capacity,
                                             int32_t pid);
  static absl::StatusOr<AttachLedger> Open(void* base, size_t len);
  // Daemon side: this ledger, whose file now holds `len` bytes mapped at
  // `base` (the old entries kept, the new ones zero), with `entries`
  // published for the client.
  AttachLedger Extended(void* base, size_t len) const;

  uint32_t capacity() const { return capacity_; }
  // Entries that may be touched now.
  uint32_t entries() const;

  // Client side: one more or one fewer attachment of (index, seq). An entry
  // holding another seq (a destroyed segment whose index was reused) is
  // restarted at zero. Returns false when `index` is outside the ledger.
  bool RecordAttach(int32_t index, uint32_t seq, int64_t now_ns);
  bool RecordDetach(int32_t index, uint32_t seq, int64_t now_ns);
  // Takes back an attachment that was never completed (the mapping failed or
  // the segment vanished meanwhile), leaving the timestamps alone.
  void UndoAttach(int32_t index, uint32_t seq);
  // Counts an attachment without stamping a time: an attachment inherited
  // across fork (the kernel stamps the parent for it), or one whose mapping
  // is still to be made (stamped by StampAttach once it succeeds, because a
  // failed shmat leaves shm_atime and shm_lpid alone).
  bool CountAttach(int32_t index, uint32_t seq);
  // Stamps an attach time without counting one: the parent's side of a fork,
  // whose copying of the mapping is an attach in the parent's name.
  void StampAttach(int32_t index, uint32_t seq, int64_t now_ns);
  // Every attachment dropped at once (exec), stamping the detach time.
  void DetachAll(int64_t now_ns);

  // Client side: notes that this process uses semaphore set `index`.
  void NoteSemSet(int32_t index);
  // Daemon side: the semaphore sets noted, or nullopt after an overflow
  // (visit every set). Entries are clamped to the table.
  std::optional<std::vector<int32_t>> SemSets() const;

  // Daemon side: this ledger's view of segment (index, seq), clamped.
  LedgerSummary Summarize(int32_t index, uint32_t seq) const;

  // Calls fn(index, seq, summary) for every entry with anything recorded.
  template <typename Fn>
  void ForEachUsed(Fn&& fn) const {
    const uint32_t end = entries();
    for (uint32_t i = 0; i < end; ++i) {
      const AttachLedgerEntry& e = entries_[i];
      const uint32_t seq = e.seq.load(std::memory_order_relaxed);
      if (e.count.load(std::memory_order_relaxed) == 0 &&
          e.last_attach_ns.load(std::memory_order_relaxed) == 0 &&
          e.last_detach_ns.load(std::memory_order_relaxed) == 0) {
        continue;
      }
      fn(static_cast<int32_t>(i), seq, Summarize(static_cast<int32_t>(i), seq));
    }
  }

 private:
  AttachLedger(AttachLedgerHeader* header, AttachLedgerEntry* entries, uint32_t capacity, uint32_t mapped)
      : header_(header), entries_(entries), capacity_(capacity), mapped_(mapped) {}
  bool Holds(int32_t index) const { return index >= 0 && static_cast<uint32_t>(index) < entries(); }

  AttachLedgerHeader* header_;
  AttachLedgerEntry* entries_;
  uint32_t capacity_;
  uint32_t mapped_;  // entries within the mapping, at most capacity_
};

}  // namespace sysv::core

#endif  // SYSV_CORE_SHM_ATTACH_LEDGER_H_
