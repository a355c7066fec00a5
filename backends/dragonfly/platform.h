// The DragonFly backend as daemon/ and compat/ see it (backends/platform.h
// picks it on DragonFly): every name backends/linux/platform.h provides,
// listed one by one, so that a name missing here is a compile error on
// DragonFly rather than a surprise. Where the two systems differ in kind,
// the names say what is needed, not how:
//   - OpenProcessHandle / ProcessHandleExited: a descriptor readable once a
//     process exits (Linux: a pidfd; here a kqueue with an EVFILT_PROC note,
//     process_handle.h), and ExitWatch keyed by it (process_exit_watch.h).
//   - IdentifyPeer / IntroduceSelf: LOCAL_PEERCRED has no pid, so a client
//     introduces itself with an SCM_CREDS message and the daemon takes the
//     pid from it (channel.h); on Linux SO_PEERCRED has it at connect.
//   - ReopenReadOnlyAt: no /proc/self/fd reopen; the name must exist
//     (region_file.h).
//   - The region platforms wait with umtx, which cannot sleep on a
//     read-only mapping: such a waiter polls (region_platform.h).
#ifndef SYSV_BACKENDS_DRAGONFLY_PLATFORM_H_
#define SYSV_BACKENDS_DRAGONFLY_PLATFORM_H_

#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <climits>
#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "backends/common/elf_rebind.h"
#include "backends/common/poll_window.h"
#include "backends/common/raw_syscalls.h"
#include "backends/common/sealed_snapshot.h"
#include "backends/common/security_driver.h"
#include "backends/common/unique_fd.h"
#include "backends/common/zero_fill.h"
#include "backends/dragonfly/channel.h"
#include "backends/dragonfly/content_file.h"
#include "backends/dragonfly/event_loop_selector.h"
#include "backends/dragonfly/file_change_watch.h"
#include "backends/dragonfly/held_files.h"
#include "backends/dragonfly/kernel_values.h"
#include "backends/dragonfly/kernel_ipc_tuning.h"
#include "backends/dragonfly/kinfo_sys.h"
#include "backends/dragonfly/parent_death.h"
#include "backends/dragonfly/peer_credentials.h"
#include "backends/dragonfly/process_exit_watch.h"
#include "backends/dragonfly/process_handle.h"
#include "backends/dragonfly/process_watch.h"
#include "backends/dragonfly/region_file.h"
#include "backends/dragonfly/region_mutex.h"
#include "backends/dragonfly/region_platform.h"
#include "backends/dragonfly/retry_timer.h"
#include "backends/dragonfly/sealed_region.h"
#include "backends/dragonfly/signal_epoch.h"
#include "backends/dragonfly/stop_signals.h"
#include "backends/dragonfly/user_namespace.h"
#include "core/ipc/errno_status.h"
#include "core/region_platform.h"
#include "core/sem/sem_set.h"

namespace sysv {
namespace dragonfly_platform {

// Channel (channel.h).
using ::sysv::dragonfly_backend::AcceptClient;
using ::sysv::dragonfly_backend::ConnectSeqpacket;
using ::sysv::dragonfly_backend::IdentifyPeer;
using ::sysv::dragonfly_backend::IntroduceSelf;
using ::sysv::dragonfly_backend::ListenSeqpacket;
using ::sysv::dragonfly_backend::ReceivedMessage;
using ::sysv::dragonfly_backend::ReceiveMessage;
using ::sysv::dragonfly_backend::ReceiveMessageAwake;
using ::sysv::dragonfly_backend::ReceiveMessagePolled;
using ::sysv::dragonfly_backend::SendMessage;

// Credentials (peer_credentials.h, user_namespace.h).
using ::sysv::dragonfly_backend::CurrentCredentials;
using ::sysv::dragonfly_backend::PeerCredentials;
using ::sysv::dragonfly_backend::ReadIdMaps;

// Processes (process_handle.h, process_exit_watch.h, process_watch.h,
// held_files.h).
using ::sysv::dragonfly_backend::HeldFile;
using ::sysv::dragonfly_backend::IsThreadOf;
using ::sysv::dragonfly_backend::OpenProcessHandle;
using ::sysv::dragonfly_backend::PeerProcess;
using ::sysv::dragonfly_backend::ProcessAlive;
using ::sysv::dragonfly_backend::ProcessEffectiveUid;
using ::sysv::dragonfly_backend::ProcessHandleExited;
using ::sysv::dragonfly_backend::ProcessHeldFiles;
using ::sysv::dragonfly_backend::ProcessInstance;
using ::sysv::dragonfly_backend::ProcessMemlockLimit;
using ::sysv::dragonfly_backend::ProcessStartTime;
using ::sysv::dragonfly_backend::ProcStat;
using ::sysv::dragonfly_backend::ReadProcStat;
using ExitWatch = ::sysv::dragonfly_backend::ProcessExitWatch;
using ::sysv::dragonfly_backend::SignalProcess;

// A forked child's death with its parent (parent_death.h): a thread on the
// parent's process handle, since DragonFly has no PR_SET_PDEATHSIG; unlike
// Linux's it does not survive exec.
using ::sysv::dragonfly_backend::DieWithParent;

// DragonFly has no IPC namespaces: the kernel's System V objects are the
// host's, always.
inline absl::Status EnterPrivateIpcNamespace() {
  return core::ErrnoStatus(ENOSYS, "DragonFly has no IPC namespaces");
}

// SHM_HUGETLB: DragonFly's System V shared memory has no huge page pools
// (no SHM_HUGETLB in <sys/shm.h>), so there are none to offer and no group.
struct HugePagePool {
  uint64_t page_size = 0;
  uint64_t free_pages = 0;
};
inline std::optional<HugePagePool> HugePagePoolOf(int /*size_log*/) { return std::nullopt; }
inline uint32_t HugetlbShmGroup() { return 0; }

// The calling process's own mappings (backends/linux/mapping_query.h): not
// available. DragonFly has no per-address query (its procfs is not mounted
// by default, and kinfo's VM map dump lists every entry), so libsysv parks
// no segment mapping there: every shmdt unmaps, as before.
struct FileIdentity {
  uint64_t device = 0;
  uint64_t inode = 0;
  bool operator==(const FileIdentity&) const = default;
};
inline absl::StatusOr<FileIdentity> IdentifyFile(int /*fd*/) {
  return core::ErrnoStatus(ENOSYS, "no mapping queries on DragonFly");
}
struct MappingFacts {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t offset = 0;
  bool shared = false;
  bool readable = false;
  bool writable = false;
  bool executable = false;
  FileIdentity file;
};
class MappingQuery {
 public:
  bool Available() { return false; }
  absl::StatusOr<MappingFacts> Find(uint64_t /*addr*/, bool /*or_next*/) {
    return core::ErrnoStatus(ENOSYS, "no mapping queries on DragonFly");
  }
  void Reset() {}
};

// The calling process's executable's path, "" when unknown (libsysv and
// sysvipc find what sits beside it): sysctl KERN_PROC_PATHNAME, since
// procfs is not mounted by default.
inline std::string ExecutablePath() {
  char path[PATH_MAX];
  return ::sysv::dragonfly_backend::ReadOwnExecutablePath(path, sizeof(path)) > 0 ? std::string(path) : std::string();
}

// The kernel's own SysV limits and the machine's load, for the
// benchmark's kernel side (kernel_ipc_tuning.h).
using ::sysv::dragonfly_backend::LoadAverages;
using ::sysv::dragonfly_backend::SetKernelMsgmni;
using ::sysv::dragonfly_backend::SetKernelSemmni;
using ::sysv::dragonfly_backend::SetKernelShmmni;

// Files libsysv makes to stand for the kernel's (content_file.h): a
// short-lived /tmp file opened again as the caller asked and unlinked, and
// the process's descriptors found by poll(2). DragonFly itself has no such
// kernel files to emulate; --config=dragonfly_doubles serves Linux's.
using ::sysv::dragonfly_backend::ForEachOpenDescriptor;
using ::sysv::dragonfly_backend::OpenContentFile;

// System calls made past every interposer of the C library's wrappers,
// libsysv's own included (backends/common/raw_syscalls.h).
using ::sysv::backend::RawClose;
using ::sysv::backend::RawDupCloexec;
using ::sysv::backend::RawFstat;
using ::sysv::backend::RawFstatAt;
using ::sysv::backend::RawLseek;
using ::sysv::backend::RawRead;

// How many CPUs the machine has online (backends/common/poll_window.h).
using ::sysv::backend::OnlineCpuCount;

// The calling thread, as IsThreadOf() takes it: its LWP id.
inline int32_t CurrentThreadId() { return ::sysv::dragonfly_backend::CurrentLwpId(); }

// Region files (region_file.h). DragonFly has no posix_fallocate: a just
// created file's blocks are allocated by writing zeros.
inline int AllocateFileSpace(int fd, off_t size) { return backend::ZeroFill(fd, size); }
// Only the part a grow adds: the start may hold data (a ledger's entries,
// which its process writes meanwhile) that zeros must not overwrite.
inline int AllocateAddedFileSpace(int fd, off_t from, off_t size) { return backend::ZeroFill(fd, size, from); }

using ::sysv::dragonfly_backend::CreateRegionFile;
using ::sysv::dragonfly_backend::FileSize;
using ::sysv::dragonfly_backend::MappedRegion;
using ::sysv::dragonfly_backend::OpenRegionFile;
using ::sysv::dragonfly_backend::ReopenReadOnlyAt;
using ::sysv::dragonfly_backend::UnlinkRegionFile;

// The event loop, the retry timer, snapshots. kqueue is the one loop, and
// "auto" picks it (io_uring and epoll are ENOSYS).
inline constexpr const char* kEventLoopChoices[] = {"auto"};
using ::sysv::dragonfly_backend::MakeEventLoop;
using ::sysv::dragonfly_backend::OpenStopSignals;
using ::sysv::dragonfly_backend::RetryTimer;
inline absl::StatusOr<backend::UniqueFd> SealedSnapshot(const char* name, absl::Span<const unsigned char> bytes) {
  return backend::ReadOnlySnapshot(name, bytes);
}

// Sealed regions and the fd keeper (sealed_region.h): none on DragonFly
// (no memfd); every call says ENOSYS and segments stay region files.
using ::sysv::dragonfly_backend::CreateSealedRegion;
using ::sysv::dragonfly_backend::FdKeeper;
using ::sysv::dragonfly_backend::IsSealedRegion;
using ::sysv::dragonfly_backend::PeerGone;
using ::sysv::dragonfly_backend::ReopenReadOnly;
using ::sysv::dragonfly_backend::RunFdKeeper;
// Ends every thread of the process at once, without the C library (its
// _exit() is what libsysv wraps): exit(2), whose exit1() kills every LWP
// (sys/kern/kern_exit.c; lwp_exit is another call).
[[noreturn]] inline void EndProcessNow(int status) {
  for (;;) syscall(SYS_exit, status);
}

// mmap flag: exactly at the address given, failing if anything is mapped
// there, and the errno saying so (kernel_values.h: MAP_TRYFIXED and ENOMEM).
using ::sysv::dragonfly_backend::kMapAddressInUse;
using ::sysv::dragonfly_backend::kMapFixedNoReplace;

// posix_spawn flag that detaches the daemon the library starts from the
// caller's terminal: DragonFly's posix_spawn has no POSIX_SPAWN_SETSID, so
// a process group of its own (pgroup 0), out of the terminal's foreground
// group's signals, though still in the caller's session.
inline constexpr short kSpawnDetached = POSIX_SPAWN_SETPGROUP;

// One more than the largest signal number sigaction() takes
// (kernel_values.h: _SIG_MAXSIG, 128).
using ::sysv::dragonfly_backend::kSignalLimit;

// Signals (signal_epoch.h).
using ::sysv::dragonfly_backend::EscapeInterruptibleWait;
using ::sysv::dragonfly_backend::InterruptibleWait;
using ::sysv::dragonfly_backend::NoteSignalHandled;
using ::sysv::dragonfly_backend::SignalEpoch;

// ELF rebinding (backends/common/elf_rebind.h).
using ::sysv::backend::LoadedObjects;
using ::sysv::backend::RebindObjectsBeside;
using ::sysv::backend::Rebinding;
using ::sysv::backend::RebindReport;

// The mutex in every set's and queue's region and its owner probe
// (region_mutex.h, lock_owner_probe.h): a holder named by pid, LWP id and
// start time, its liveness from kinfo_proc.
using ::sysv::dragonfly_backend::LockOwnerProbe;
using ::sysv::dragonfly_backend::RegionMutex;

// The region platforms by role (region_platform.h).
inline const core::RegionPlatform& ClientRegionPlatform() { return dragonfly_backend::DragonFlyRegionPlatform(); }
inline const core::RegionPlatform& DaemonRegionPlatform() {
  return dragonfly_backend::DragonFlyDaemonRegionPlatform();
}
inline const core::SemPlatform& ClientSemPlatform() { return ClientRegionPlatform(); }
inline const core::SemPlatform& DaemonSemPlatform() { return DaemonRegionPlatform(); }

// The security driver: the daemon's client of /dev/sysvipc is POSIX over
// the shared ABI (backends/common/driver/), which DragonFly's device (issue
// #17) is to implement; until it exists, --driver=auto finds no device.
using ::sysv::backend::DriverMode;
using ::sysv::backend::OpenSecurityDriverFor;
using ::sysv::backend::ParseDriverMode;
using ::sysv::backend::SecurityDriver;

// The daemon's take-back of storage a client took through a descriptor:
// EVFILT_VNODE notes on each watched file (file_change_watch.h; inotify on
// Linux), and ftruncate (no blocks past the end exist without fallocate).
using dragonfly_backend::FileChangeWatch;
using dragonfly_backend::RestoreFileExtent;

}  // namespace dragonfly_platform

namespace platform = dragonfly_platform;

}  // namespace sysv

#endif  // SYSV_BACKENDS_DRAGONFLY_PLATFORM_H_
