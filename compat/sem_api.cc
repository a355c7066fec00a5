// sysv_semget, sysv_semop, sysv_semtimedop, sysv_semctl.
//
// semget and the semctl commands about the set itself go to the daemon;
// semop and the value commands run here, on the set's mapped region
// (core/sem/sem_set.h), after the same checks the kernel makes, in its
// order, against the mapped object table. The caller's command numbers are
// its C library's (backends/ipc_abi.h): sysv_semctl() translates them to
// the core's first, and everything below works on the core's numbers.
#include <stdarg.h>
#include <sys/sem.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "backends/ipc_abi.h"
#include "backends/platform.h"
#include "compat/access_verdict.h"
#include "compat/credential_cache.h"
#include "compat/errno_result.h"
#include "compat/fault_safe_copy.h"
#include "compat/local_get.h"
#include "compat/runtime.h"
#include "compat/sem_exit.h"
#include "compat/signal_epoch.h"
#include "core/ipc/ipc_constants.h"
#include "core/ipc/ipc_id.h"
#include "core/ipc/object_table.h"
#include "core/protocol/codec.h"
#include "core/protocol/ctl_replies.h"
#include "core/protocol/wire.h"
#include "core/sem/sem_checks.h"
#include "core/sem/sem_registry.h"
#include "sysv/sysv.h"

namespace sysv::compat {
namespace {

namespace wire = core::wire;

// sem_flg's IPC_NOWAIT and SEM_UNDO are the core's in every C library
// (backends/*/ipc_abi.h), and struct sembuf is the core's SemOp.
static_assert(sizeof(struct sembuf) == sizeof(core::SemOp));

// The fourth argument of semctl (the caller defines union semun itself).
union SemArg {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
  void* info;  // IPC_INFO, SEM_INFO: the C library's struct seminfo
};

// The set a thread used last, and what the table checks of semop decided
// about it, so that the next semop on it needs no lock, no table read and no
// daemon round trip (the fast path): the permission verdict
// (access_verdict.h) and nsems, drawn from the same table read. They are
// valid in grant epoch `epoch` only (a new namespace, a forked child: the
// runtime must see every set once more, see Runtime::GrantEpoch()).
struct ThreadGrant {
  int32_t id = -1;
  uint64_t epoch = 0;
  std::shared_ptr<SemGrant> grant;
  AccessVerdict verdict;
  uint32_t nsems = 0;
};
thread_local ThreadGrant t_grant;

// The grant of the thread's verdict if it still holds for `semid` and allows
// `sops` (CheckSemop()'s EFBIG and EACCES rules); nullptr otherwise (the
// full path then decides, errors included). `*alter` says whether a sop
// alters. The grant is returned without a reference: t_grant holds one for
// as long as this thread runs the call.
inline SemGrant* VerdictGrant(Runtime& runtime, int semid, absl::Span<const core::SemOp> sops,
                              const core::Credentials* creds, bool* alter) {
  const ThreadGrant& t = t_grant;
  if (t.id != semid || t.epoch != runtime.GrantEpoch() || !t.verdict.Holds(runtime.PublishedSemTable(), creds)) {
    return nullptr;
  }
  uint32_t max = 0;
  bool alters = false;
  for (const core::SemOp& sop : sops) {
    max = sop.num > max ? sop.num : max;
    alters |= sop.op != 0;
  }
  *alter = alters;
  if (max >= t.nsems || !t.verdict.Allows(alters ? core::kAccessWrite : core::kAccessRead)) return nullptr;
  return t.grant.get();
}

// Makes `grant`, just obtained through the runtime in this epoch, the
// thread's, with a fresh verdict when the table gives a consistent one.
void RememberGrant(Runtime& runtime, int semid, std::shared_ptr<SemGrant> grant, const core::Credentials* creds) {
  ThreadGrant& t = t_grant;
  t.id = semid;
  t.epoch = runtime.GrantEpoch();
  t.grant = std::move(grant);
  t.verdict.Forget();
  const core::ObjectTable* table = runtime.PublishedSemTable();
  if (table == nullptr) return;
  absl::StatusOr<core::ObjectRecord> record = core::FindSemSet(*table, semid);
  if (!record.ok() || record->perm.seq != t.grant->seq) return;
  t.nsems = static_cast<uint32_t>(record->size);
  t.verdict.Remember(*table, core::IpcIdIndex(semid), *record, creds);
}

// SEM_UNDO at exit (compat/sem_exit.h).
//
// g_in_locked_semop counts the threads inside a locked semop (Semop()); the
// exit pass runs only when it is zero, after it set g_exiting, and a thread
// that enters after that sees g_exiting and leaves without touching the set
// (the two seq_cst steps on each side make one of them see the other).
// g_undo_sets lists the sets this process used with SEM_UNDO; it grows
// under g_undo_mu, always inside the counted window, so that the exit pass
// may read it without the mutex once the count is zero (acquire, pairing
// with the release decrement).
std::atomic<int> g_in_locked_semop{0};
std::atomic<bool> g_exiting{false};
struct UndoSet {
  int32_t pid;  // the process that made adjustments there (not a forked child)
  int32_t id;
  std::shared_ptr<SemGrant> grant;
};
absl::Mutex g_undo_mu;
std::vector<UndoSet>* g_undo_sets = nullptr;  // never freed: read during exit
std::atomic<bool> g_any_undo{false};

void NoteUndoSet(int32_t pid, int32_t id, const std::shared_ptr<SemGrant>& grant) {
  // The common case, the same set again: no lock, no scan.
  thread_local const SemGrant* t_noted = nullptr;
  thread_local int32_t t_noted_pid = 0;
  if (t_noted == grant.get() && t_noted_pid == pid) return;
  absl::MutexLock lock(&g_undo_mu);
  t_noted = grant.get();
  t_noted_pid = pid;
  if (g_undo_sets == nullptr) g_undo_sets = new std::vector<UndoSet>();
  for (const UndoSet& set : *g_undo_sets) {
    if (set.pid == pid && set.grant == grant) return;
  }
  g_undo_sets->push_back(UndoSet{pid, id, grant});
  g_any_undo.store(true, std::memory_order_release);
}

int Fail(const absl::Status& status) { return FailWithStatus(status); }

// semop for a caller with read permission only, all of whose operations
// wait for zero: the daemon runs it (wire::Op::kSemWaitZero); if it must
// sleep, this thread sleeps on the status word of its queued record, in the
// read-only mapping, then tells the daemon how it ended (decided, EINTR or
// timeout), which returns semop's result.
int WaitZeroThroughDaemon(Runtime& runtime, int semid, absl::Span<const core::SemOp> sops, const SemGrant& grant,
                          int64_t timeout_nanos, uint64_t signal_epoch) {
  wire::SemWaitZeroRequest request{};
  request.id = semid;
  request.nsops = static_cast<uint32_t>(sops.size());
  request.tid = platform::CurrentThreadId();
  for (size_t i = 0; i < sops.size(); ++i) request.sops[i] = wire::WireSemOp{sops[i].num, sops[i].op, sops[i].flg};
  const core::Deadline deadline = timeout_nanos < 0 ? core::Deadline::Infinite()
                                                    : core::Deadline::After(absl::Nanoseconds(timeout_nanos));
  auto reply = runtime.Call<wire::Op::kSemWaitZero>(request);
  if (!reply.ok()) return Fail(reply.status());
  if (reply->queued == 0) return reply->status.error == 0 ? 0 : FailWithErrno(reply->status.error);
  const uint64_t offset = reply->status_offset;
  if (offset % alignof(std::atomic<uint32_t>) != 0 || offset + sizeof(uint32_t) > grant.map.size()) {
    return FailWithErrno(EPROTO);  // a daemon that does not know the region
  }
  const auto* status = reinterpret_cast<const std::atomic<uint32_t>*>(
      static_cast<const unsigned char*>(grant.map.data()) + offset);
  int reason = 0;
  while (status->load(std::memory_order_acquire) == core::kSemStatusPending) {
    const core::WaitResult wait = InterruptibleWait(status, core::kSemStatusPending, deadline, signal_epoch);
    if (status->load(std::memory_order_acquire) != core::kSemStatusPending) break;
    if (wait == core::WaitResult::kTimedOut || deadline.HasExpired()) {
      reason = EAGAIN;
      break;
    }
    if (wait == core::WaitResult::kInterrupted) {
      reason = EINTR;
      break;
    }
  }
  auto end = runtime.Call<wire::Op::kSemWaitZeroEnd>(
      wire::SemWaitZeroEndRequest{semid, reply->index, reason, 0});
  if (!end.ok()) return Fail(end.status());
  if (end->status.error != 0) return FailWithErrno(end->status.error);
  return end->result == 0 ? 0 : FailWithErrno(end->result);
}

// semop and semtimedop. `timeout` is the caller's pointer (may be bad).
int Semtimedop(int semid, struct sembuf* user_sops, size_t nsops, const struct timespec* user_timeout) {
  // First of all: a handler that runs from here on, even during a round
  // trip to the daemon below (a forked child's first call registers it),
  // ends the call with EINTR if it has to sleep, as the kernel's
  // signal_pending() check before its sleep would.
  const uint64_t signal_epoch = SignalEpoch();
  const AwakeRoundTrips awake;
  // ksys_semtimedop() copies the timeout before anything else.
  struct timespec timeout {};
  if (user_timeout != nullptr && !FaultSafeCopy(&timeout, user_timeout, sizeof(timeout))) {
    return FailWithErrno(EFAULT);
  }
  Runtime& runtime = Runtime::Get();
  // do_semtimedop()
  if (absl::Status status = core::CheckSemopCount(nsops, runtime.SemOpLimit()); !status.ok()) {
    return Fail(status);
  }
  absl::InlinedVector<core::SemOp, 8> sops(nsops);
  if (!FaultSafeCopy(sops.data(), user_sops, nsops * sizeof(core::SemOp))) return FailWithErrno(EFAULT);
  // __do_semtimedop()
  if (semid < 0) return FailWithErrno(EINVAL);
  int64_t timeout_nanos = -1;
  if (user_timeout != nullptr) {
    absl::StatusOr<int64_t> nanos = core::SemTimeoutNanos(timeout.tv_sec, timeout.tv_nsec);
    if (!nanos.ok()) return Fail(nanos.status());
    timeout_nanos = *nanos;
  }
  absl::StatusOr<const core::Credentials*> creds = CachedCredentials();
  if (!creds.ok()) return Fail(creds.status());
  bool alter = false;
  SemGrant* grant = VerdictGrant(runtime, semid, sops, *creds, &alter);
  if (grant != nullptr) {
    // The lock-free path (core/sem/sem_region.h): one sop that completes at
    // once, without SEM_UNDO. Anything else goes on below.
    if (sops.size() == 1 && grant->may_alter && grant->set->TrySemopFast(sops[0], runtime.SemCaller().pid)) {
      return 0;
    }
  } else {
    // First use of the set by this thread, or the verdict no longer holds:
    // the checks again (with their errors), and the grant, through the
    // runtime.
    absl::StatusOr<std::shared_ptr<SemGrant>> slow =
        runtime.SemGrantFor(semid, /*alter=*/false, [&](const core::ObjectTable& table) {
          return core::CheckSemop(table, semid, sops, **creds, &alter);
        });
    if (slow.ok() && alter && !(*slow)->may_alter) {
      // Permission to alter appeared after the set was first opened read-only.
      slow = runtime.SemGrantFor(semid, /*alter=*/true, [&](const core::ObjectTable& table) {
        return core::CheckSemop(table, semid, sops, **creds, &alter);
      });
    }
    if (!slow.ok()) return Fail(slow.status());
    grant = slow->get();
    RememberGrant(runtime, semid, *std::move(slow), *creds);
  }
  if (!grant->may_alter) {
    // Read permission only, which suffices for an operation that only waits
    // for zero (an altering one failed the checks above with EACCES). The
    // mapping is read-only: the daemon runs it.
    if (alter) return FailWithErrno(EACCES);
    if (sops.size() <= wire::kSemWaitZeroMaxOps) {
      return WaitZeroThroughDaemon(runtime, semid, sops, *grant, timeout_nanos, signal_epoch);
    }
    // Too many for one request: the same call with its repeats dropped.
    const std::vector<core::SemOp> distinct = core::DistinctWaitForZero(sops);
    if (distinct.size() > wire::kSemWaitZeroMaxOps) return FailWithErrno(EACCES);  // README: limits
    return WaitZeroThroughDaemon(runtime, semid, distinct, *grant, timeout_nanos, signal_epoch);
  }
  const core::Deadline deadline = timeout_nanos < 0 ? core::Deadline::Infinite()
                                                    : core::Deadline::After(absl::Nanoseconds(timeout_nanos));
  const core::SemSet::Caller caller = runtime.SemCaller();
  g_in_locked_semop.fetch_add(1, std::memory_order_seq_cst);
  if (g_exiting.load(std::memory_order_seq_cst)) {
    // The process is ending and its undo was applied: as if killed first.
    g_in_locked_semop.fetch_sub(1, std::memory_order_release);
    return FailWithErrno(EINTR);
  }
  bool undo = false;
  for (const core::SemOp& sop : sops) undo |= (sop.flg & core::kSemUndo) != 0;
  if (undo) NoteUndoSet(caller.pid, semid, t_grant.grant);
  const int error = grant->set->Semop(sops, caller, deadline, signal_epoch);
  g_in_locked_semop.fetch_sub(1, std::memory_order_release);
  return error == 0 ? 0 : FailWithErrno(error);
}

// GETVAL, GETPID, GETNCNT, GETZCNT and GETALL for a caller whose mapping of
// the set is read-only: the daemon runs them (wire::SemCtlRequest).
int ReadValuesThroughDaemon(Runtime& runtime, int semid, int semnum, int cmd, SemArg arg) {
  wire::SemCtlRequest request{};
  request.id = semid;
  request.cmd = cmd;
  request.semnum = semnum;
  std::vector<backend::UniqueFd> fds;
  auto reply = runtime.Call<wire::Op::kSemCtl>(request, &fds);
  if (!reply.ok()) return Fail(reply.status());
  if (reply->status.error != 0) return FailWithErrno(reply->status.error);
  if (cmd != core::kGetAll) return reply->value;
  if (reply->nvalues <= wire::kSemCtlMaxValues) {
    if (!FaultSafeCopy(arg.array, reply->values, reply->nvalues * sizeof(uint16_t))) return FailWithErrno(EFAULT);
    return 0;
  }
  // A big set's values come as a sealed snapshot file (wire.h).
  const size_t bytes = size_t{reply->nvalues} * sizeof(uint16_t);
  if (fds.size() != 1 || bytes > size_t{1} << 24) return FailWithErrno(EPROTO);
  std::vector<uint16_t> values(reply->nvalues);
  size_t done = 0;
  while (done < bytes) {
    const ssize_t n = pread(fds[0].get(), reinterpret_cast<char*>(values.data()) + done, bytes - done,
                            static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return FailWithErrno(EPROTO);
    done += static_cast<size_t>(n);
  }
  if (!FaultSafeCopy(arg.array, values.data(), bytes)) return FailWithErrno(EFAULT);
  return 0;
}

// The value commands (semctl_main(), semctl_setval()).
int SemctlValues(int semid, int semnum, int cmd, SemArg arg) {
  Runtime& runtime = Runtime::Get();
  // semctl_setval(): the value's range is checked first of all.
  if (cmd == core::kSetVal) {
    if (absl::Status status = core::CheckSetValValue(arg.val); !status.ok()) return Fail(status);
  }
  // The value commands run on mapped memory, like semop: the same cached
  // credentials (credential_cache.h).
  absl::StatusOr<const core::Credentials*> creds = CachedCredentials();
  if (!creds.ok()) return Fail(creds.status());
  const bool writes = cmd == core::kSetVal || cmd == core::kSetAll;
  int32_t nsems = 0;
  auto check = [&](const core::ObjectTable& table) -> absl::StatusOr<core::ObjectRecord> {
    absl::StatusOr<core::ObjectRecord> record = core::FindSemSet(table, semid);
    if (!record.ok()) return record;
    nsems = static_cast<int32_t>(record->size);
    // semctl_setval() checks semnum before permission; semctl_main() after.
    if (cmd == core::kSetVal && (semnum < 0 || semnum >= nsems)) return core::ErrnoStatus(EINVAL, "semnum out of range");
    return core::CheckSemctl(table, semid, writes ? core::kAccessWrite : core::kAccessRead, **creds);
  };
  absl::StatusOr<std::shared_ptr<SemGrant>> grant = runtime.SemGrantFor(semid, writes, check);
  if (!grant.ok()) return Fail(grant.status());
  core::SemSet& set = *(*grant)->set;
  // Every value command takes the set's lock, a write to the region, which
  // a read-only mapping cannot do: a caller with read but not write
  // permission has the daemon read for it.
  if (!(*grant)->may_alter) return ReadValuesThroughDaemon(runtime, semid, semnum, cmd, arg);
  const core::SemSet::Caller caller = runtime.SemCaller();
  int result = 0;
  switch (cmd) {
    case core::kGetAll: {
      std::vector<uint16_t> values(static_cast<size_t>(nsems));
      result = set.GetAll(absl::MakeSpan(values));
      if (result == 0 && !FaultSafeCopy(arg.array, values.data(), values.size() * sizeof(uint16_t))) {
        return FailWithErrno(EFAULT);
      }
      break;
    }
    case core::kSetAll: {
      std::vector<uint16_t> values(static_cast<size_t>(nsems));
      if (!FaultSafeCopy(values.data(), arg.array, values.size() * sizeof(uint16_t))) return FailWithErrno(EFAULT);
      for (uint16_t value : values) {
        if (value > core::kSemVmx) return FailWithErrno(ERANGE);
      }
      result = set.SetAll(values, caller);
      break;
    }
    case core::kSetVal:
      result = set.SetVal(semnum, arg.val, caller);
      break;
    default:
      if (semnum < 0 || semnum >= nsems) return FailWithErrno(EINVAL);
      if (cmd == core::kGetVal) result = set.GetVal(semnum);
      if (cmd == core::kGetPid) result = set.GetPid(semnum);
      if (cmd == core::kGetNcnt) result = set.GetNcnt(semnum);
      if (cmd == core::kGetZcnt) result = set.GetZcnt(semnum);
      break;
  }
  return result < 0 ? FailWithErrno(-result) : result;
}

// The commands the daemon answers (semctl_info(), semctl_stat(),
// semctl_down()).
void FillSemidDs(const wire::WirePerm& perm, int64_t otime, int64_t ctime, uint64_t nsems, struct semid_ds* out) {
  std::memset(out, 0, sizeof(*out));
  abi::FillIpcPerm(perm, &out->sem_perm);
  out->sem_otime = otime;
  out->sem_ctime = ctime;
  out->sem_nsems = nsems;
}

// IPC_STAT of the set this thread used last, without the daemon: the
// permissions and nsems come from the mapped table, the times from the
// region (both hold what the daemon's answer would). false: ask the daemon
// (which also gives the errors).
bool LocalStat(int semid, SemArg arg, int* result) {
  Runtime& runtime = Runtime::Get();
  const core::ObjectTable* table = runtime.PublishedSemTable();
  if (table == nullptr || t_grant.id != semid || t_grant.grant == nullptr || t_grant.epoch != runtime.GrantEpoch()) {
    return false;
  }
  absl::StatusOr<const core::Credentials*> creds = CachedCredentials();
  if (!creds.ok()) return false;
  absl::StatusOr<core::ObjectRecord> record = core::CheckSemctl(*table, semid, core::kAccessRead, **creds);
  if (!record.ok() || record->perm.seq != t_grant.grant->seq) return false;
  struct semid_ds out;
  FillSemidDs(wire::ToWirePerm(record->perm), t_grant.grant->set->OTime(), t_grant.grant->set->CTime(), record->size,
              &out);
  *result = FaultSafeCopy(arg.buf, &out, sizeof(out)) ? 0 : FailWithErrno(EFAULT);
  return true;
}

// What semctl returns and writes for a successful `cmd` (a stat or info
// command), from the daemon's reply or one made the same way from a local
// answer.
int SemctlAnswer(int cmd, const wire::SemCtlReply& reply, SemArg arg) {
  if (cmd == core::kIpcStat || cmd == core::kSemStat || cmd == core::kSemStatAny) {
    struct semid_ds out;
    FillSemidDs(reply.perm, reply.otime, reply.ctime, reply.nsems, &out);
    if (!FaultSafeCopy(arg.buf, &out, sizeof(out))) return FailWithErrno(EFAULT);
  } else if (cmd == core::kIpcInfo || cmd == core::kSemInfo) {
    const abi::InfoBytes out = abi::SemInfoBytes(reply);
    if (!FaultSafeCopy(arg.info, out.data, out.size)) return FailWithErrno(EFAULT);
  }
  return reply.value;
}

int SemctlDaemon(int semid, int cmd, SemArg arg) {
  if (int result = 0; cmd == core::kIpcStat && LocalStat(semid, arg, &result)) return result;
  // SEM_STAT and SEM_STAT_ANY: an unused index and a reader without
  // permission are refused from the table; the fields need the set's region,
  // which this thread has mapped only for the set it used last.
  if (cmd == core::kSemStat || cmd == core::kSemStatAny) {
    auto found = TryLocalStatLookup(Runtime::Get().PublishedSemTable(), semid, cmd, core::kSemStat);
    if (!found.ok()) return Fail(found.status());
    if (int result = 0; found->has_value() && LocalStat(**found, arg, &result)) return result == 0 ? **found : result;
  }
  // IPC_INFO and SEM_INFO: the limits and counts, as the daemon published them.
  if (std::optional<core::SemCtlResult> local = core::LocalSemInfo(Runtime::Get().PublishedSemTable(), cmd)) {
    return SemctlAnswer(cmd, wire::SemCtlReplyOf(*local), arg);
  }
  wire::SemCtlRequest request{};
  request.id = semid;
  request.cmd = cmd;
  if (cmd == core::kIpcSet) {
    struct semid_ds in;
    if (!FaultSafeCopy(&in, arg.buf, sizeof(in))) return FailWithErrno(EFAULT);
    request.uid = in.sem_perm.uid;
    request.gid = in.sem_perm.gid;
    request.mode = in.sem_perm.mode;
  }
  auto reply = Runtime::Get().Call<wire::Op::kSemCtl>(request);
  if (!reply.ok()) return Fail(reply.status());
  if (reply->status.error != 0) return FailWithErrno(reply->status.error);
  return SemctlAnswer(cmd, *reply, arg);
}

}  // namespace

void ApplyOwnSemUndoBeforeExit() {
  if (!g_any_undo.load(std::memory_order_acquire)) return;
  // getpid() asks the kernel: a vfork child runs this in its parent's
  // memory, with its parent's caches, and must change nothing.
  const int32_t pid = getpid();
  const core::SemSet::Caller caller = Runtime::Get().SemCaller();
  if (caller.pid != pid) return;
  bool expected = false;
  if (!g_exiting.compare_exchange_strong(expected, true, std::memory_order_seq_cst)) return;
  if (g_in_locked_semop.load(std::memory_order_seq_cst) != 0) return;  // the daemon will
  // The count was zero after g_exiting was set: no thread is in, none will
  // come in, and every NoteUndoSet() happened before (acquire above).
  if (g_undo_sets == nullptr) return;
  for (const UndoSet& set : *g_undo_sets) {
    if (set.pid == pid && set.grant != nullptr && set.grant->set.has_value() && set.grant->may_alter) {
      // A busy lock (a stopped holder) leaves the work to the daemon.
      set.grant->set->ProcessExited(caller);
    }
  }
}

}  // namespace sysv::compat

using sysv::compat::FailWithErrno;
namespace wire = sysv::core::wire;

extern "C" int sysv_semget(key_t caller_key, int nsems, int semflg) {
  sysv::core::Key key = 0;
  if (!sysv::abi::ProtocolKey(caller_key, &key)) return FailWithErrno(EINVAL);
  sysv::compat::Runtime& runtime = sysv::compat::Runtime::Get();
  const sysv::core::ObjectTable* table = runtime.PublishedSemTable();
  // SEMMSL as the daemon published it (0: not known, so not answered here).
  const uint32_t semmsl = table == nullptr ? 0 : table->header().get_limit.load(std::memory_order_relaxed);
  if (semmsl != 0) {
    if (absl::Status status = sysv::core::CheckSemgetNsems(nsems, static_cast<int32_t>(semmsl)); !status.ok()) {
      return sysv::compat::FailWithStatus(status);
    }
    auto local = sysv::compat::TryLocalGet(table, key, semflg, [&](const sysv::core::ObjectRecord& record) {
      return sysv::core::SemMoreChecks(record, nsems);
    });
    if (!local.ok()) return sysv::compat::FailWithStatus(local.status());
    if (local->has_value()) return **local;
  }
  const wire::SemGetRequest request{key, nsems, semflg, 0};
  auto reply = runtime.Call<wire::Op::kSemGet>(request);
  if (!reply.ok()) return sysv::compat::FailWithStatus(reply.status());
  if (reply->status.error != 0) return FailWithErrno(reply->status.error);
  return reply->id;
}

extern "C" int sysv_semop(int semid, struct sembuf* sops, size_t nsops) {
  return sysv::compat::Semtimedop(semid, sops, nsops, nullptr);
}

extern "C" int sysv_semtimedop(int semid, struct sembuf* sops, size_t nsops, const struct timespec* timeout) {
  // semtimedop(..., NULL) blocks without a timeout, as semop does.
  return sysv::compat::Semtimedop(semid, sops, nsops, timeout);
}

extern "C" int sysv_semctl(int semid, int semnum, int caller_cmd, ...) {
  namespace core = sysv::core;
  va_list args;
  va_start(args, caller_cmd);
  sysv::compat::SemArg arg;
  // The fourth argument is one machine word; read it as such whatever the
  // command (an absent one is never used).
  arg.buf = va_arg(args, struct semid_ds*);
  va_end(args);
  // ksys_semctl(): "if (semid < 0) return -EINVAL;"
  if (semid < 0) return FailWithErrno(EINVAL);
  // The caller's command as the core numbers it; one its system does not
  // have is EINVAL, as the "default:" of its kernel's semctl.
  switch (const int cmd = sysv::abi::SemctlCommand(caller_cmd)) {
    case core::kIpcInfo:
    case core::kSemInfo:
    case core::kIpcStat:
    case core::kSemStat:
    case core::kSemStatAny:
    case core::kIpcSet:
    case core::kIpcRmid:
      return sysv::compat::SemctlDaemon(semid, cmd, arg);
    case core::kGetAll:
    case core::kGetVal:
    case core::kGetPid:
    case core::kGetNcnt:
    case core::kGetZcnt:
    case core::kSetAll:
    case core::kSetVal:
      return sysv::compat::SemctlValues(semid, semnum, cmd, arg);
    default:
      return FailWithErrno(EINVAL);
  }
}
