// The region of one message queue: its counters and times, its messages,
// and the records of the processes waiting on it.
//
// Every client with read and write permission maps the region read-write
// and runs msgsnd/msgrcv on it (core/msg/msg_queue.h); a client with read
// permission only maps it read-only, and one with write permission only
// not at all: the daemon runs their msgrcv and msgsnd on its own mapping
// (a reader's waiting receiver record is queued here like any other, and
// the reader sleeps on its status word). The daemon also maps it for
// IPC_STAT, IPC_SET (msg_qbytes), IPC_RMID and the exit-time removal of a
// dead process's waiter records. A file in the state directory backs it,
// so it outlives the daemon.
//
// Layout:
//   MsgQueueHeader   identity, the two locks, counters, list ends, futex words
//   arena            kMsgBlockSize blocks, grouped into extents: messages
//                    (a MsgRecord and its payload in the blocks right
//                    after it), waiting receivers (MsgReceiver), waiting
//                    senders (MsgSender) and free runs
//
// Extents: the arena is a sequence of extents, each a run of consecutive
// blocks whose first word (the tag: MsgBlockKind and run length, see
// MsgTag) says what the run is and how long. Only an extent's first block
// has a tag: a message's payload fills the rest of its record block and
// every block of the run after it, so that a message is written by one
// memcpy and read by one (the kernel's two copies per message). The
// partition is walked from block 0 by the run lengths; it is consistent at
// every instant, because each change of it is one store of a tag: a run is
// split by first writing the tag of its second part (inside the run, so
// nobody reads it yet), then shortening the first; a receiver frees a whole
// message with one store. Only a send_lock holder joins free runs
// (receivers only split runs or free them), so a send_lock holder walking
// the partition never lands inside a run. A message that fits by msg_qbytes
// but finds no free run long enough (a fragmented arena) is written as a
// record plus a chain of MsgData extents instead (never refused): that
// costs at most the blocks the one-block-per-56-bytes layout of format 3
// needed, which MsgQueue::BlocksFor() reserves.
//
// Two locks, as in Michael and Scott's two-lock queue: the message list is
// singly linked from a dummy record (`msg_head`) to the newest message
// (`msg_tail`). A msgsnd while no receiver waits appends under `send_lock`
// alone (if the message fits by the receive side's counters as the sender
// last read them, and a free block is near), and a msgrcv of the first
// message (msgtyp 0) takes it under `recv_lock` alone: the first message
// becomes the new dummy. A producer and a consumer then never wait for
// each other, and in a stream's steady state the only lines they both
// write are the messages themselves (and the rare line, when IPC_STAT's
// times and pids change). Everything else (typed and MSG_COPY receives,
// waiting and the hand-over to a waiting receiver, IPC_SET, IPC_RMID, the
// daemon's exit-time cleanup, a rebuild) holds both locks, recv_lock first.
// Each side writes its own counters (sent_*, recv_*): msg_qnum and
// msg_cbytes are their differences. A run is free when its tag says so:
// there is no free list for the two sides to share, and senders take runs
// in ring order (MsgQueue::Locked::Alloc, msg_queue_locked.h).
//
// Growth: raising msg_qbytes needs more blocks. Every process maps the
// region for the largest arena (kMsgMaxArenaBlocks) at once, so that the
// file can grow under existing mappings: the daemon extends the file, then
// raises `arena_blocks`. Blocks past the file's end are never touched: an
// index is used only below the `arena_blocks` a process has checked against
// the file's real size (MsgQueue's capacity check).
//
// Moving: a region that is a sealed memfd cannot grow. Raising msg_qbytes
// past its arena makes the daemon copy it, under both of its locks, into a
// bigger region (MsgQueue::MoveTo: same offsets, the locks fresh, the
// senders' records dropped since every sender tries again), then mark the
// old one kMsgRegionMoved and wake everyone who may sleep in it. A receiver
// that slept finishes its wait on its record in the new region.
//
// Crash consistency without a redo log: the committed state is the set of
// record blocks whose `kind` says so (a message is sent when its record's
// kind becomes kMessage or kHanded, received when it stops being one: it
// becomes the dummy or is freed). Everything else -- the two lists, the
// counters, `waiters`, `next_seq` and `next_order` -- is derived from the
// records and can be rebuilt from them. A process killed while holding a
// lock leaves it owner-dead; the next holder raises `repair`, and the next
// holder of both locks rebuilds the derived state from a scan of the arena
// (msg_rebuild.cc), which also repairs what a scribbling client broke,
// dropping records that do not validate. Until then the other side may go
// on: a sender that died inside an append may leave `msg_tail` naming a
// block that is freed later, which no one-lock path follows before the
// rebuild (the send lock's owner-died state forces it first).
//
// Untrusted input: a client with read and write permission can scribble
// anywhere here (as it could, through msgsnd and msgrcv, empty the queue
// and fill it with messages of its own).
// Every block index is bounded by the checked capacity before use, every
// list walk by the number of blocks, every chain by the length its message
// declares, every run by the checked capacity; an inconsistency triggers a
// rebuild, and a queue that still does not validate fails with EIDRM for
// this queue only. Payload bytes are never read as a tag by a walk of the
// partition (a sender's payload cannot forge a record, for the daemon's scans
// or anyone's), unless a scribbled tag first misaligns the walk -- which only
// a read-write user can do, who could write records directly anyway. Walks
// without a lock (the daemon's exit-time look, IPC_RMID past a stuck lock)
// are hints that a locked pass confirms, or touch only a removed queue.
#ifndef SYSV_CORE_MSG_MSG_REGION_H_
#define SYSV_CORE_MSG_MSG_REGION_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace sysv::core {

inline constexpr uint32_t kMsgNoBlock = UINT32_MAX;
inline constexpr uint32_t kMsgBlockSize = 64;
// The largest arena: 64 MiB. A queue whose msg_qbytes asks for more is
// served with this much (msgsnd then waits for room earlier than the
// kernel's would).
inline constexpr uint32_t kMsgMaxArenaBlocks = 1u << 20;
// Blocks beyond msg_qbytes' worst case: the dummy record, waiter records,
// and messages handed straight to a waiting receiver (which msg_qnum and
// msg_cbytes do not count).
inline constexpr uint32_t kMsgExtraBlocks = 1024;

// The kind of an extent: the low 8 bits of its tag.
enum class MsgBlockKind : uint32_t {
  kFree = 0,
  kPending = 1,   // a message being written (not sent yet)
  kMessage = 2,   // a message in the queue
  kHanded = 3,    // a message handed to a waiting receiver (MsgReceiver::message)
  kData = 4,      // payload of a message
  kReceiver = 5,  // a process waiting in msgrcv
  kSender = 6,    // a process waiting in msgsnd for room
  kDummy = 7,     // the record before the first message (msg_head)
};

// An extent's tag: its kind, and its run length less one above kMsgRunShift
// (so that the tag of a one-block extent is its kind alone, and a block of
// zeros is a free one-block extent). Stored in one atomic word: the kind
// and the run of an extent change together.
inline constexpr uint32_t kMsgRunShift = 8;
inline constexpr uint32_t kMsgKindMask = (1u << kMsgRunShift) - 1;
inline constexpr uint32_t MsgTag(MsgBlockKind kind, uint32_t run) {
  return static_cast<uint32_t>(kind) | ((run - 1) << kMsgRunShift);
}
inline constexpr MsgBlockKind MsgTagKind(uint32_t tag) { return static_cast<MsgBlockKind>(tag & kMsgKindMask); }
inline constexpr uint32_t MsgTagRun(uint32_t tag) { return (tag >> kMsgRunShift) + 1; }
static_assert(kMsgMaxArenaBlocks <= (UINT32_MAX >> kMsgRunShift) + 1);

// MsgQueueHeader::removed. A sealed region cannot grow, so an IPC_SET that
// raises msg_qbytes past its arena moves the queue into a bigger region
// (MsgQueue::MoveTo) and leaves this mark in the old one: an operation that
// finds it after taking a lock has done nothing there, and starts again on
// the region the daemon hands out now.
inline constexpr uint32_t kMsgRegionLive = 0;
inline constexpr uint32_t kMsgRegionRemoved = 1;
inline constexpr uint32_t kMsgRegionMoved = 2;

// Bytes of payload in a message's record block, and in a one-block data
// extent of a chain.
inline constexpr uint32_t kMsgInlineBytes = 24;
inline constexpr uint32_t kMsgDataBytes = 56;

// A message: the first block of its extent. Its payload starts at
// `inline_data` and runs on through the rest of the extent (kMsgInlineBytes
// plus kMsgBlockSize per further block); what does not fit there follows in
// a chain of MsgData extents through `data` (only in a fragmented arena).
struct MsgRecord {
  std::atomic<uint32_t> kind;  // tag; commit point: kMessage / kHanded; kDummy once received
  uint32_t data;               // first MsgData extent of the chain, or kMsgNoBlock
  uint64_t seq;                // send order (the queue is kept in it)
  int64_t mtype;
  uint32_t size;               // m_ts
  uint32_t claimant;           // scratch of the rebuild (a handed message's receiver)
  // The next message, or kMsgNoBlock. A sender writes it under send_lock
  // while a receiver may read it under recv_lock: accessed atomically.
  uint32_t next;
  uint32_t blocks;             // extents in the chain
  unsigned char inline_data[kMsgInlineBytes];
};
static_assert(sizeof(MsgRecord) == kMsgBlockSize);
static_assert(offsetof(MsgRecord, inline_data) + kMsgInlineBytes == kMsgBlockSize,
              "the payload runs on from inline_data into the extent's next block");

// The first block of a chain extent; its payload runs on through the rest
// of the extent (kMsgDataBytes plus kMsgBlockSize per further block).
struct MsgData {
  std::atomic<uint32_t> kind;  // tag: kData
  uint32_t next;               // next extent of the chain, or kMsgNoBlock
  unsigned char bytes[kMsgDataBytes];
};
static_assert(sizeof(MsgData) == kMsgBlockSize);
static_assert(offsetof(MsgData, bytes) + kMsgDataBytes == kMsgBlockSize);

// A receiver's status while it waits: nothing decided yet.
inline constexpr uint32_t kMsgWaiting = 0xFFFFFFFFu;
// Woken to look again (IPC_SET may have changed its permissions).
inline constexpr uint32_t kMsgRetry = 0xFFFFFFFEu;

// A process sleeping in msgrcv: ipc/msg.c's struct msg_receiver.
struct MsgReceiver {
  std::atomic<uint32_t> kind;    // kReceiver
  std::atomic<uint32_t> status;  // futex word: kMsgWaiting, kMsgRetry, 0 (a
                                 // message is in `message`) or an errno
  int32_t pid;
  uint32_t mode;                 // MsgSearch
  int64_t msgtype;               // r_msgtype (already made positive)
  uint64_t maxsize;              // r_maxsize
  uint64_t order;                // place in the receiver queue
  uint32_t prev;
  uint32_t next;
  uint32_t message;              // the handed message, or kMsgNoBlock
  std::atomic<uint32_t> sleeping;  // 1 while it may be in a futex sleep
  uint64_t reserved;
};
static_assert(sizeof(MsgReceiver) == kMsgBlockSize);

// A process sleeping in msgsnd until there is room. Senders sleep on the
// header's `space_seq`; the record lets a dead sender be forgotten.
struct MsgSender {
  std::atomic<uint32_t> kind;  // kSender
  uint32_t reserved;
  int32_t pid;
  uint32_t reserved2;
  unsigned char unused[48];
};
static_assert(sizeof(MsgSender) == kMsgBlockSize);
static_assert(offsetof(MsgSender, pid) == offsetof(MsgReceiver, pid));

// The header's fields are grouped by who writes them and how often, one
// group to a cache line: every line a msgsnd or msgrcv writes has to travel
// to the CPU of the next operation that writes it. In the steady state of a
// stream a sender writes only send-side lines (its lock, `send_busy`, the
// send line) and a receiver only receive-side ones; the identity and rare
// lines are only read, and stay cached on every CPU. Fields without
// std::atomic are guarded by their side's lock (the rare line's by both);
// everything but the identity line is derived state (see the file comment).
struct MsgQueueHeader {
  static constexpr uint64_t kMagic = 0x4E4F494745524751;  // "QGREGION" in memory
  // 3: two locks, a singly linked list from a dummy record, per-side counters.
  // 4: extents (a message's payload in consecutive blocks, run-length tags).
  static constexpr uint32_t kVersion = 4;

  // --- Identity and limits: written at creation, by IPC_SET and IPC_RMID.
  std::atomic<uint64_t> magic;
  std::atomic<uint32_t> layout_version;
  std::atomic<uint32_t> arena_offset;
  // Blocks the file holds now (raised by the daemon, never lowered).
  std::atomic<uint32_t> arena_blocks;
  // kMsgRegionLive; kMsgRegionRemoved once IPC_RMID ran; kMsgRegionMoved
  // once the queue moved to a bigger region (MsgQueue::MoveTo). Read by
  // every operation right after it takes a lock.
  std::atomic<uint32_t> removed;
  std::atomic<uint64_t> qbytes;   // msg_qbytes
  std::atomic<int64_t> ctime;

  // --- Send side: written under send_lock by every msgsnd.
  // Messages and bytes ever counted into the queue (msg_qnum is
  // sent_count - recv_count, in wrapping arithmetic).
  alignas(64) std::atomic<uint64_t> sent_count;
  std::atomic<uint64_t> sent_bytes;
  uint64_t next_seq;  // of the next message sent
  // Changes on every send (receivers spinning before they sleep watch it).
  std::atomic<uint32_t> sent_seq;
  uint32_t msg_tail;      // the newest message, or the dummy when none
  uint32_t alloc_cursor;  // the extent where the search for a free run starts

  // --- Receive side: written under recv_lock by every msgrcv.
  alignas(64) std::atomic<uint64_t> recv_count;
  std::atomic<uint64_t> recv_bytes;
  uint32_t msg_head;  // the dummy record before the first message

  // --- Rare: written under the locks, but not in the steady state of a
  // stream (the times change once a second, the pids when the sender or
  // receiver does; they are stored only when they change).
  alignas(64) std::atomic<int64_t> stime;
  std::atomic<int64_t> rtime;
  std::atomic<int32_t> lspid;
  std::atomic<int32_t> lrpid;
  // Blocks [0, bump) have been used at least once: the partition into
  // extents covers them. Raised under send_lock, read by both sides.
  std::atomic<uint32_t> bump;
  uint32_t recv_head;  // waiting receivers, in arrival order (both locks)
  uint32_t recv_tail;
  // 1: a lock holder died or found the derived state broken; the next
  // holder of both locks rebuilds it, and nobody takes a one-lock path
  // before.
  std::atomic<uint32_t> repair;
  uint64_t next_order;  // of the next receiver queued
  // Waiter records (receivers + senders). The daemon looks at it without
  // the locks to skip idle queues at exit time.
  std::atomic<uint32_t> waiters;

  // --- Futex word of senders waiting for room. Its low bits say who waits
  // (kSpaceWatched: a sender spins or sleeps on it; kSpaceSleepers: one may
  // sleep), the rest counts in kSpaceStep. Senders set the bits under both
  // locks before they wait; a receiver that makes room changes the word
  // only when watched, and wakes only when someone may sleep, so a stream
  // never writes it.
  static constexpr uint32_t kSpaceWatched = 1;
  static constexpr uint32_t kSpaceSleepers = 2;
  static constexpr uint32_t kSpaceStep = 4;
  alignas(64) std::atomic<uint32_t> space_seq;

  // 1 while someone holds that lock: hints (never trusted for exclusion)
  // that let a process about to lock spin for a short critical section
  // instead of going to sleep in the mutex, and keep spinners off the lines
  // a holder is writing. Each on its own line: a spinner polling it must
  // not take the holder's lines away while it works.
  alignas(64) std::atomic<uint32_t> send_busy;
  alignas(64) std::atomic<uint32_t> recv_busy;

  alignas(64) unsigned char recv_lock[64];  // SharedMutex storage
  alignas(64) unsigned char send_lock[64];
};
static_assert(sizeof(MsgQueueHeader) % kMsgBlockSize == 0);

}  // namespace sysv::core

#endif  // SYSV_CORE_MSG_MSG_REGION_H_
