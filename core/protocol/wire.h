// The wire protocol between clients and sysvipcd.
//
// One request, one reply, each a single SOCK_SEQPACKET message: a fixed
// header followed by the fixed-layout body of its operation. Bodies are
// trivially copyable structs of fixed-width fields with no implicit padding,
// so a message is exactly sizeof(header) + sizeof(body), and a decoder can
// reject any other length before reading a field. Both ends run on the same
// machine, so fields are in host byte order.
//
// File descriptors travel only from the daemon to a client, as SCM_RIGHTS
// beside a reply; the daemon closes any a client sends.
#ifndef SYSV_CORE_PROTOCOL_WIRE_H_
#define SYSV_CORE_PROTOCOL_WIRE_H_

#include <cstdint>
#include <type_traits>

namespace sysv::core::wire {

inline constexpr uint32_t kMagic = 0x56535953;  // "SYSV" in memory
// 2: the register reply carries the message queue table.
// 3: a wait-for-zero request names the calling thread; a connection beyond
//    its user's share gets a refusal (EncodeRefusal) before it is closed.
// 4: a queue's region goes only to a process that may read and write it;
//    the others' msgsnd/msgrcv are served (kMsgSend ... kMsgReceiveEnd).
inline constexpr uint16_t kVersion = 4;
// No message is larger than this; receive buffers use it.
inline constexpr uint32_t kMaxMessageSize = 512;
// No reply carries more descriptors than this.
inline constexpr int kMaxFds = 4;

enum class Op : uint16_t {
  kRegister = 1,
  kShmGet = 2,
  kShmAttach = 3,
  kShmCtl = 4,
  kSemGet = 5,
  kSemCtl = 6,
  kMsgGet = 7,
  kMsgCtl = 8,
  kShmSweep = 9,
  kSemOpen = 10,
  kMsgOpen = 11,
  // Semaphores, read-only callers (issue #3): op numbers from 16 up.
  kSemWaitZero = 16,
  kSemWaitZeroEnd = 17,
  // Message queues, read-only and write-only callers (issue #13).
  kMsgSend = 18,
  kMsgSendPart = 19,
  kMsgReceive = 20,
  kMsgReceiveEnd = 21,
  // The namespace's /proc/sys/kernel SysV entries (issue #15): from 32 up.
  kSysctl = 32,
};

struct Header {
  uint32_t magic;
  uint16_t version;
  uint16_t op;
  uint32_t length;  // of the whole message, header included
  uint32_t request_id;
};

// Every reply body starts with the result: 0, or the errno the call fails
// with.
struct ReplyStatus {
  int32_t error;
  uint32_t reserved;
};

// ipc_perm, for the *ctl replies.
struct WirePerm {
  int32_t key;
  uint32_t uid;
  uint32_t gid;
  uint32_t cuid;
  uint32_t cgid;
  uint32_t mode;
  uint32_t seq;
  uint32_t reserved;
};

// --- kRegister: the first message on a connection.
inline constexpr uint32_t kRegisterFreshImage = 1;  // first connection since exec
struct RegisterRequest {
  uint32_t flags;
  uint32_t reserved;
};
// Descriptors: [0] the shm object table (read-only), [1] this process's
// attach ledger (read-write), [2] the sem object table (read-only), [3] the
// msg object table (read-only).
struct RegisterReply {
  ReplyStatus status;
  uint32_t shm_table_capacity;
  uint32_t ledger_capacity;
  uint64_t namespace_id;  // changes when the namespace is created anew
  uint32_t sem_table_capacity;
  uint32_t msg_table_capacity;
};

// --- kShmGet
struct ShmGetRequest {
  int32_t key;
  int32_t flags;
  uint64_t size;
};
struct ShmGetReply {
  ReplyStatus status;
  int32_t id;
  uint32_t reserved;
};

// --- kShmAttach: permission check of a first shmat; replies with the
// segment's descriptor (read-only unless writable).
struct ShmAttachRequest {
  int32_t id;
  int32_t shmflg;
};
struct ShmAttachReply {
  ReplyStatus status;
  int32_t id;
  uint32_t writable;
  uint64_t size;        // shm_segsz
  uint64_t map_length;  // of the mapping: whole pages, or huge pages
  uint64_t alignment;   // of the mapping's address: the (huge) page size
};

// --- kShmSweep: this process detached its last attachment of a removed
// segment; destroy it now if nobody else has it attached, as the kernel's
// last shmdt does.
struct ShmSweepRequest {
  int32_t id;
  uint32_t reserved;
};
struct ShmSweepReply {
  ReplyStatus status;
};

// --- kSemGet
struct SemGetRequest {
  int32_t key;
  int32_t nsems;
  int32_t flags;
  uint32_t reserved;
};
struct SemGetReply {
  ReplyStatus status;
  int32_t id;
  uint32_t reserved;
};

// --- kSemOpen: the checks of a first access to a set; replies with the
// set's region (read-write when the caller may alter it, else read-only).
struct SemOpenRequest {
  int32_t id;
  uint32_t reserved;
};
struct SemOpenReply {
  ReplyStatus status;
  int32_t id;
  uint32_t nsems;
  uint32_t may_alter;
  uint32_t reserved;
  uint64_t region_size;
};

// --- kSemWaitZero: semop for a caller with read permission only, whose
// operations all wait for zero (ipcperms(S_IRUGO) in do_semtimedop()). Its
// mapping is read-only, so the daemon runs the operation for it
// (core::SemSet::StartFor()); if it must sleep, the reply names the status
// word the caller sleeps on in its mapping, and the caller ends it with
// kSemWaitZeroEnd (when decided, or on EINTR or a timeout).
inline constexpr uint32_t kSemWaitZeroMaxOps = 80;  // what fits in kMaxMessageSize
struct WireSemOp {  // struct sembuf
  uint16_t num;
  int16_t op;
  int16_t flg;
};
struct SemWaitZeroRequest {
  int32_t id;
  uint32_t nsops;
  // The calling thread (gettid(), as the caller's PID namespace numbers it):
  // a thread sleeps in at most one semop, so the daemon keeps at most one
  // pending wait per thread, and a new request from a thread replaces the
  // one it left behind. The daemon checks that the thread is the caller's.
  int32_t tid;
  WireSemOp sops[kSemWaitZeroMaxOps];
};
struct SemWaitZeroReply {
  ReplyStatus status;    // the result when not queued
  uint32_t queued;       // 1: sleeping, in record `index`
  uint32_t index;
  uint32_t status_offset;  // of the record's status word, in the region
  uint32_t reserved;
};
struct SemWaitZeroEndRequest {
  int32_t id;
  uint32_t index;
  int32_t reason;  // 0: the caller saw a decision; EINTR or EAGAIN: it gives up
  uint32_t reserved;
};
struct SemWaitZeroEndReply {
  ReplyStatus status;  // errors of the request itself (no such set)
  int32_t result;      // semop's result: 0 or the errno
  uint32_t reserved;
};

// --- kSemCtl: IPC_STAT, SEM_STAT, SEM_STAT_ANY, IPC_SET, IPC_RMID,
// IPC_INFO, SEM_INFO (the value commands run in the client).
// Also the value reads (GETVAL, GETPID, GETNCNT, GETZCNT, GETALL) of a
// caller with read permission only, whose mapping of the set is read-only
// while the reads take the set's lock: the daemon answers them.
// A GETALL of more semaphores than fit sets nvalues to the set's size,
// leaves values[] empty and sends the values beside the reply as one
// descriptor: a sealed file of nvalues uint16_t, read once under the set's
// lock like the kernel's copy.
inline constexpr uint32_t kSemCtlMaxValues = 180;  // GETALL's values that fit a reply
struct SemCtlRequest {
  int32_t id;
  int32_t cmd;
  uint32_t uid;    // IPC_SET
  uint32_t gid;    // IPC_SET
  uint32_t mode;   // IPC_SET
  int32_t semnum;  // the value reads
};
struct SemCtlReply {
  ReplyStatus status;
  int32_t value;
  uint32_t reserved;
  WirePerm perm;
  int64_t otime;
  int64_t ctime;
  uint64_t nsems;
  // struct seminfo, in its order.
  int32_t semmap;
  int32_t semmni;
  int32_t semmns;
  int32_t semmnu;
  int32_t semmsl;
  int32_t semopm;
  int32_t semume;
  int32_t semusz;
  int32_t semvmx;
  int32_t semaem;
  // GETALL
  uint32_t nvalues;
  uint32_t reserved2;
  uint16_t values[kSemCtlMaxValues];
};

// --- kMsgGet
struct MsgGetRequest {
  int32_t key;
  int32_t flags;
};
struct MsgGetReply {
  ReplyStatus status;
  int32_t id;
  uint32_t reserved;
};

// --- kMsgOpen: the checks of a first access to a queue. A caller with
// read and write permission gets the queue's region read-write (and runs
// msgsnd/msgrcv on it); one with read permission only gets it read-only
// (it sleeps there on its served receive's status word, and reads IPC_STAT
// from it); one with write permission only gets no descriptor. `access`
// says which (kMsgAccess*).
inline constexpr uint32_t kMsgAccessReadWrite = 0;
inline constexpr uint32_t kMsgAccessReadOnly = 1;
inline constexpr uint32_t kMsgAccessWriteOnly = 2;
struct MsgOpenRequest {
  int32_t id;
  uint32_t reserved;
};
struct MsgOpenReply {
  ReplyStatus status;
  int32_t id;
  uint32_t access;
};

// --- Served msgsnd and msgrcv, for a caller without a writable region
// (read-only: msgrcv, MSG_COPY; write-only: msgsnd). The daemon runs the
// operation on its own mapping without ever waiting (a busy lock parks the
// request), always as if IPC_NOWAIT were given; the caller waits itself.
// Payloads of up to kMsgWireBytes travel inline.
inline constexpr uint32_t kMsgWireBytes = 448;

// kMsgSendPart: bytes [offset, offset + length) of the message the next
// kMsgSend of this connection sends (a message longer than kMsgWireBytes
// is staged in parts; offset 0 starts a new one). Reply: MsgSendReply.
struct MsgSendPartRequest {
  int32_t id;
  uint32_t offset;
  uint32_t length;
  uint32_t reserved;
  uint8_t bytes[kMsgWireBytes];
};
// kMsgSend: msgsnd of `size` bytes: the first `staged` were staged by
// kMsgSendPart, the rest are in `bytes`. EAGAIN when the queue is full (the
// caller retries unless it gave IPC_NOWAIT).
struct MsgSendRequest {
  int32_t id;
  int32_t msgflg;
  int64_t mtype;
  uint32_t size;
  uint32_t staged;
  uint8_t bytes[kMsgWireBytes];
};
struct MsgSendReply {
  ReplyStatus status;
};
// kMsgReceive: msgrcv. When no message is there and the caller may wait,
// the daemon queues a receiver for it in the region, in arrival order among
// every receiver (core::MsgQueue::Receive's `queued`): the reply names its
// record and the offset of its status word, on which the caller sleeps in
// its read-only mapping, and the caller ends the wait with kMsgReceiveEnd
// (decided, or EINTR). The calling thread keeps at most one such wait.
struct MsgReceiveRequest {
  int32_t id;
  int32_t msgflg;
  int64_t msgtyp;
  uint64_t bufsz;
  int32_t tid;
  uint32_t reserved;
};
struct MsgReceiveEndRequest {
  int32_t id;
  uint32_t index;
  int32_t reason;  // 0: the caller saw a decision; EINTR: a signal
  uint32_t reserved;
  uint64_t bufsz;
};
// The received message: `size` bytes of type `mtype`, in `bytes` when
// size <= kMsgWireBytes, else as one sealed file beside the reply.
struct MsgReceiveReply {
  ReplyStatus status;
  uint32_t queued;  // 1: waiting in record `index` (kMsgReceive only)
  uint32_t index;
  uint32_t status_offset;
  uint32_t size;
  int64_t mtype;
  uint32_t recheck;  // 1: woken to look again (IPC_SET): call again
  uint32_t reserved;
  uint8_t bytes[kMsgWireBytes];
};

// --- kMsgCtl: every msgctl command.
struct MsgCtlRequest {
  int32_t id;
  int32_t cmd;
  uint32_t uid;   // IPC_SET
  uint32_t gid;   // IPC_SET
  uint32_t mode;  // IPC_SET
  uint32_t reserved;
  uint64_t qbytes;  // IPC_SET
};
struct MsgCtlReply {
  ReplyStatus status;
  int32_t value;
  uint32_t reserved;
  WirePerm perm;
  int64_t stime;
  int64_t rtime;
  int64_t ctime;
  uint64_t cbytes;
  uint64_t qnum;
  uint64_t qbytes;
  int32_t lspid;
  int32_t lrpid;
  // struct msginfo, in its order.
  int32_t msgpool;
  int32_t msgmap;
  int32_t msgmax;
  int32_t msgmnb;
  int32_t msgmni;
  int32_t msgssz;
  int32_t msgtql;
  int32_t msgseg;
};

// --- kShmCtl
struct ShmCtlRequest {
  int32_t id;
  int32_t cmd;
  uint32_t uid;   // IPC_SET
  uint32_t gid;   // IPC_SET
  uint32_t mode;  // IPC_SET
  uint32_t reserved;
  // Unused, kept so the layout stays: the daemon reads the caller's
  // RLIMIT_MEMLOCK from the kernel (a client could claim any value here).
  uint64_t memlock_limit;
};
struct ShmCtlReply {
  ReplyStatus status;
  int32_t value;
  uint32_t reserved;
  WirePerm perm;
  uint64_t segsz;
  int64_t atime;
  int64_t dtime;
  int64_t ctime;
  int32_t cpid;
  int32_t lpid;
  uint64_t nattch;
  // IPC_INFO
  uint64_t shmmax;
  uint64_t shmmin;
  uint64_t shmmni;
  uint64_t shmseg;
  uint64_t shmall;
  // SHM_INFO
  int32_t used_ids;
  uint32_t reserved2;
  uint64_t shm_tot;
  uint64_t shm_rss;
  uint64_t shm_swp;
  uint64_t swap_attempts;
  uint64_t swap_successes;
};

// --- kSysctl: read, open for writing, or write one of the namespace's
// /proc/sys/kernel entries (core/ipc/sysctl.h). A daemon that predates it
// answers EOPNOTSUPP (a new operation needs no new version: the other
// bodies are unchanged). The daemon judges a write by the caller's
// credentials, never by the client's open().
inline constexpr uint32_t kSysctlMaxText = 256;  // the longest write carried
enum class SysctlAction : uint32_t {
  kRead = 0,
  kOpenForWrite = 1,  // the permission check of open(O_WRONLY/O_RDWR), and a read
  kWrite = 2,         // text[0, length) written at offset 0
};
struct SysctlRequest {
  uint32_t file;    // core::Sysctl
  uint32_t action;  // SysctlAction
  uint32_t length;
  uint32_t reserved;
  char text[kSysctlMaxText];
};
struct SysctlReply {
  ReplyStatus status;  // EACCES, or the write's errno (EINVAL, ERANGE)
  uint32_t taken;      // bytes the write took (write(2)'s result)
  uint32_t length;     // of text: the file's content after the request
  char text[64];
};

// Which body goes with which operation.
template <Op kOp>
struct OpTraits;
template <>
struct OpTraits<Op::kRegister> {
  using Request = RegisterRequest;
  using Reply = RegisterReply;
};
template <>
struct OpTraits<Op::kShmGet> {
  using Request = ShmGetRequest;
  using Reply = ShmGetReply;
};
template <>
struct OpTraits<Op::kShmAttach> {
  using Request = ShmAttachRequest;
  using Reply = ShmAttachReply;
};
template <>
struct OpTraits<Op::kShmSweep> {
  using Request = ShmSweepRequest;
  using Reply = ShmSweepReply;
};
template <>
struct OpTraits<Op::kShmCtl> {
  using Request = ShmCtlRequest;
  using Reply = ShmCtlReply;
};

template <>
struct OpTraits<Op::kSemGet> {
  using Request = SemGetRequest;
  using Reply = SemGetReply;
};
template <>
struct OpTraits<Op::kSemOpen> {
  using Request = SemOpenRequest;
  using Reply = SemOpenReply;
};
template <>
struct OpTraits<Op::kSemCtl> {
  using Request = SemCtlRequest;
  using Reply = SemCtlReply;
};
template <>
struct OpTraits<Op::kSemWaitZero> {
  using Request = SemWaitZeroRequest;
  using Reply = SemWaitZeroReply;
};
template <>
struct OpTraits<Op::kSemWaitZeroEnd> {
  using Request = SemWaitZeroEndRequest;
  using Reply = SemWaitZeroEndReply;
};

template <>
struct OpTraits<Op::kSysctl> {
  using Request = SysctlRequest;
  using Reply = SysctlReply;
};

template <>
struct OpTraits<Op::kMsgGet> {
  using Request = MsgGetRequest;
  using Reply = MsgGetReply;
};
template <>
struct OpTraits<Op::kMsgOpen> {
  using Request = MsgOpenRequest;
  using Reply = MsgOpenReply;
};
template <>
struct OpTraits<Op::kMsgCtl> {
  using Request = MsgCtlRequest;
  using Reply = MsgCtlReply;
};
template <>
struct OpTraits<Op::kMsgSend> {
  using Request = MsgSendRequest;
  using Reply = MsgSendReply;
};
template <>
struct OpTraits<Op::kMsgSendPart> {
  using Request = MsgSendPartRequest;
  using Reply = MsgSendReply;
};
template <>
struct OpTraits<Op::kMsgReceive> {
  using Request = MsgReceiveRequest;
  using Reply = MsgReceiveReply;
};
template <>
struct OpTraits<Op::kMsgReceiveEnd> {
  using Request = MsgReceiveEndRequest;
  using Reply = MsgReceiveReply;
};

// Layout checks: no implicit padding anywhere, sizes fixed forever for
// kVersion 1.
static_assert(sizeof(Header) == 16);
static_assert(sizeof(ReplyStatus) == 8);
static_assert(sizeof(RegisterRequest) == 8);
static_assert(sizeof(RegisterReply) == 32);
static_assert(sizeof(ShmGetRequest) == 16);
static_assert(sizeof(ShmGetReply) == 16);
static_assert(sizeof(ShmAttachRequest) == 8);
static_assert(sizeof(ShmAttachReply) == 40);
static_assert(sizeof(ShmCtlRequest) == 32);
static_assert(sizeof(WirePerm) == 32);
static_assert(sizeof(ShmCtlReply) == 8 + 8 + 32 + 8 * 4 + 8 + 8 + 40 + 8 + 40);
static_assert(std::is_trivially_copyable_v<ShmCtlReply>);
static_assert(sizeof(WireSemOp) == 6);
static_assert(sizeof(SemWaitZeroRequest) == 492);
static_assert(sizeof(Header) + sizeof(SemWaitZeroRequest) <= kMaxMessageSize);
static_assert(sizeof(SemWaitZeroReply) == 24);
static_assert(sizeof(SemWaitZeroEndRequest) == 16);
static_assert(sizeof(SemWaitZeroEndReply) == 16);
static_assert(sizeof(SemGetRequest) == 16);
static_assert(sizeof(SemGetReply) == 16);
static_assert(sizeof(SemOpenRequest) == 8);
static_assert(sizeof(SemOpenReply) == 32);
static_assert(sizeof(SemCtlRequest) == 24);
static_assert(sizeof(SemCtlReply) == 8 + 8 + 32 + 24 + 40 + 8 + 2 * kSemCtlMaxValues);
static_assert(sizeof(Header) + sizeof(SemCtlReply) <= kMaxMessageSize);
static_assert(sizeof(MsgGetRequest) == 8);
static_assert(sizeof(MsgGetReply) == 16);
static_assert(sizeof(MsgOpenRequest) == 8);
static_assert(sizeof(MsgOpenReply) == 16);
static_assert(sizeof(MsgCtlRequest) == 32);
static_assert(sizeof(MsgCtlReply) == 8 + 8 + 32 + 24 + 24 + 8 + 32);
static_assert(sizeof(Header) + sizeof(ShmCtlReply) <= kMaxMessageSize);
static_assert(sizeof(MsgSendPartRequest) == 16 + kMsgWireBytes);
static_assert(sizeof(MsgSendRequest) == 24 + kMsgWireBytes);
static_assert(sizeof(MsgSendReply) == 8);
static_assert(sizeof(MsgReceiveRequest) == 32);
static_assert(sizeof(MsgReceiveEndRequest) == 24);
static_assert(sizeof(MsgReceiveReply) == 40 + kMsgWireBytes);
static_assert(sizeof(Header) + sizeof(MsgSendRequest) <= kMaxMessageSize);
static_assert(sizeof(Header) + sizeof(MsgReceiveReply) <= kMaxMessageSize);
static_assert(sizeof(SysctlRequest) == 16 + kSysctlMaxText);
static_assert(sizeof(Header) + sizeof(SysctlRequest) <= kMaxMessageSize);
// The longest content: sem's four ints, tab separated.
static_assert(sizeof(SysctlReply) == 16 + 64);

}  // namespace sysv::core::wire

#endif  // SYSV_CORE_PROTOCOL_WIRE_H_
