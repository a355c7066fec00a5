// The region of one message queue: its counters and times, its messages,
// and the records of the processes waiting on it.
//
// Every client with read or write permission maps the region read-write
// and runs msgsnd/msgrcv on it (core/msg/msg_queue.h); the daemon maps it
// too, for IPC_STAT, IPC_SET (msg_qbytes), IPC_RMID and the exit-time
// removal of a dead process's waiter records. A file in the state directory
// backs it, so it outlives the daemon.
//
// Layout:
//   MsgQueueHeader   identity, lock, counters, list ends, futex words
//   arena            kMsgBlockSize blocks: messages (a MsgRecord and a
//                    chain of MsgData blocks), waiting receivers
//                    (MsgReceiver) and waiting senders (MsgSender)
//
// Growth: raising msg_qbytes needs more blocks. Every process maps the
// region for the largest arena (kMsgMaxArenaBlocks) at once, so that the
// file can grow under existing mappings: the daemon extends the file, then
// raises `arena_blocks`. Blocks past the file's end are never touched: an
// index is used only below the `arena_blocks` a process has checked against
// the file's real size (MsgQueue's capacity check).
//
// Crash consistency without a redo log: the committed state is the set of
// record blocks whose `kind` says so (a message is sent when its record's
// kind becomes kMessage, received when it stops being one). Everything else
// -- the doubly linked lists, qnum and cbytes, the free list -- is derived
// from the records and can be rebuilt from them. A process killed while
// holding the lock leaves it owner-dead; the next holder rebuilds the
// derived state from a scan of the arena (MsgQueue's Rebuild), which also
// repairs what a scribbling client broke, dropping records that do not
// validate.
//
// Untrusted input: a client with write access can scribble anywhere here.
// Every block index is bounded by the checked capacity before use, every
// list walk by the number of blocks, every chain by the length its message
// declares; an inconsistency triggers a rebuild, and a queue that still does
// not validate fails with EIDRM for this queue only.
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
// Blocks beyond msg_qbytes' worst case, for waiter records and for messages
// handed straight to a waiting receiver (which qnum and cbytes do not count).
inline constexpr uint32_t kMsgExtraBlocks = 1024;

enum class MsgBlockKind : uint32_t {
  kFree = 0,
  kPending = 1,   // a message being written (not sent yet)
  kMessage = 2,   // a message in the queue
  kHanded = 3,    // a message handed to a waiting receiver (MsgReceiver::message)
  kData = 4,      // payload of a message
  kReceiver = 5,  // a process waiting in msgrcv
  kSender = 6,    // a process waiting in msgsnd for room
};

// Bytes of payload in a message's first block, and in each data block.
inline constexpr uint32_t kMsgInlineBytes = 24;
inline constexpr uint32_t kMsgDataBytes = 56;

// A message. Its payload is the first kMsgInlineBytes bytes here, then a
// chain of MsgData blocks through `data`.
struct MsgRecord {
  std::atomic<uint32_t> kind;  // commit point: kMessage / kHanded
  uint32_t data;               // first MsgData block, or kMsgNoBlock
  uint64_t seq;                // send order (the queue is kept in it)
  int64_t mtype;
  uint32_t size;               // m_ts
  uint32_t prev;               // neighbours in the queue
  uint32_t next;
  uint32_t blocks;             // data blocks in the chain
  unsigned char inline_data[kMsgInlineBytes];
};
static_assert(sizeof(MsgRecord) == kMsgBlockSize);

struct MsgData {
  std::atomic<uint32_t> kind;  // kData
  uint32_t next;               // next data block, or kMsgNoBlock
  unsigned char bytes[kMsgDataBytes];
};
static_assert(sizeof(MsgData) == kMsgBlockSize);

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
// from the CPU of the previous operation, and with one producer and one
// consumer on two CPUs that transfer is most of an operation's cost. An
// operation in the steady state of a stream writes three header lines: the
// lock's, the hot line and `lock_busy`'s; the identity line and the rare
// line are only read, and stay cached on every CPU. The fields without
// std::atomic are guarded by the lock; everything but the identity line is
// derived state (see the file comment).
struct MsgQueueHeader {
  static constexpr uint64_t kMagic = 0x4E4F494745524751;  // "QGREGION" in memory
  // 2: fields regrouped by cache line; space_seq carries waiter bits.
  static constexpr uint32_t kVersion = 2;

  // --- Identity and limits: written at creation, by IPC_SET and IPC_RMID.
  std::atomic<uint64_t> magic;
  std::atomic<uint32_t> layout_version;
  std::atomic<uint32_t> arena_offset;
  // Blocks the file holds now (raised by the daemon, never lowered).
  std::atomic<uint32_t> arena_blocks;
  std::atomic<uint32_t> removed;  // 1 once IPC_RMID ran
  std::atomic<uint64_t> qbytes;   // msg_qbytes
  std::atomic<int64_t> ctime;

  // --- Hot: written under the lock by every msgsnd and msgrcv.
  // msg_qnum and msg_cbytes, readable without the lock (IPC_STAT).
  alignas(64) std::atomic<uint64_t> qnum;
  std::atomic<uint64_t> cbytes;
  uint64_t next_seq;  // of the next message sent
  // Changes on every send (receivers spinning before they sleep watch it).
  std::atomic<uint32_t> sent_seq;
  uint32_t free_head;  // free blocks, through MsgData::next
  uint32_t free_count;
  uint32_t msg_head;
  uint32_t msg_tail;
  uint32_t recv_head;

  // --- Rare: written under the lock, but not in the steady state of a
  // stream (the times change once a second, the pids when the sender or
  // receiver does; they are stored only when they change).
  alignas(64) std::atomic<int64_t> stime;
  std::atomic<int64_t> rtime;
  std::atomic<int32_t> lspid;
  std::atomic<int32_t> lrpid;
  uint32_t bump;  // blocks [0, bump) have been used at least once
  uint32_t recv_tail;
  uint64_t next_order;  // of the next receiver queued
  // Waiter records (receivers + senders) and senders among them. The daemon
  // looks at `waiters` without the lock to skip idle queues at exit time.
  std::atomic<uint32_t> waiters;
  std::atomic<uint32_t> senders;

  // --- Futex word of senders waiting for room. Its low bits say who waits
  // (kSpaceWatched: a sender spins or sleeps on it; kSpaceSleepers: one may
  // sleep), the rest counts in kSpaceStep. Senders set the bits under the
  // lock before they wait; a receiver that makes room changes the word only
  // when watched, and wakes only when someone may sleep, so a stream never
  // writes it.
  static constexpr uint32_t kSpaceWatched = 1;
  static constexpr uint32_t kSpaceSleepers = 2;
  static constexpr uint32_t kSpaceStep = 4;
  alignas(64) std::atomic<uint32_t> space_seq;
  // 1 while someone holds the lock: a hint (never trusted for exclusion)
  // that lets a process about to lock spin for a short critical section
  // instead of going to sleep in the mutex. Not on the hot line: a spinner
  // polling it would take that line away from the holder while it works.
  std::atomic<uint32_t> lock_busy;

  alignas(64) unsigned char lock[64];  // SharedMutex storage
};
static_assert(sizeof(MsgQueueHeader) % kMsgBlockSize == 0);

}  // namespace sysv::core

#endif  // SYSV_CORE_MSG_MSG_REGION_H_
