// The Linux backend as daemon/ and compat/ see it: every service they use,
// under the names every backend's platform.h provides (backends/platform.h
// picks one). Code above the backends writes `platform::X`, never an OS's
// namespace, so that the choice of OS stays in one place.
#ifndef SYSV_BACKENDS_LINUX_PLATFORM_H_
#define SYSV_BACKENDS_LINUX_PLATFORM_H_

#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "backends/common/elf_rebind.h"
#include "backends/common/poll_window.h"
#include "backends/common/raw_syscalls.h"
#include "backends/common/security_driver.h"
#include "backends/linux/channel.h"
#include "backends/linux/content_file.h"
#include "backends/linux/event_loop_selector.h"
#include "backends/linux/exit_watch.h"
#include "backends/linux/fd_keeper.h"
#include "backends/linux/file_change_watch.h"
#include "backends/linux/held_files.h"
#include "backends/linux/huge_pages.h"
#include "backends/linux/kernel_ipc_tuning.h"
#include "backends/linux/mapping_query.h"
#include "backends/linux/peer_credentials.h"
#include "backends/linux/process_watch.h"
#include "backends/linux/region_file.h"
#include "backends/linux/region_mutex.h"
#include "backends/linux/region_platform.h"
#include "backends/linux/retry_timer.h"
#include "backends/linux/sealed_region.h"
#include "backends/linux/sealed_snapshot.h"
#include "backends/linux/sem_platform.h"
#include "backends/linux/signal_epoch.h"
#include "backends/linux/stop_signals.h"
#include "backends/linux/user_namespace.h"
#include "core/ipc/errno_status.h"

namespace sysv {
namespace linux_backend {

using ::sysv::backend::LoadedObjects;
using ::sysv::backend::RebindObjectsBeside;
using ::sysv::backend::Rebinding;
using ::sysv::backend::RebindReport;

// Allocates bytes [0, size) of a region file just created, so that a full
// file system is an errno (ENOSPC) rather than SIGBUS when the daemon
// formats it through a mapping. Results as posix_fallocate(3).
inline int AllocateFileSpace(int fd, off_t size) { return posix_fallocate(fd, 0, size); }
// Allocates bytes [from, size) of `fd`, the part a grow adds, leaving the
// rest (which may hold data others write meanwhile) untouched.
inline int AllocateAddedFileSpace(int fd, off_t from, off_t size) {
  return size > from ? posix_fallocate(fd, from, size - from) : 0;
}

// Ends every thread of the process at once, without the C library (its
// _exit() is what libsysv wraps): exit_group(2).
[[noreturn]] inline void EndProcessNow(int status) {
  for (;;) syscall(SYS_exit_group, status);
}

// mmap flag: exactly at the address given, failing if anything is mapped
// there (never replacing it); and the errno of that failure.
inline constexpr int kMapFixedNoReplace = MAP_FIXED_NOREPLACE;
inline constexpr int kMapAddressInUse = EEXIST;

// The calling process's own mappings as the kernel sees them, one address
// at a time, and which file a descriptor is (mapping_query.h): what
// libsysv checks before it reuses a segment mapping it parked. Linux 6.11+
// (PROCMAP_QUERY); MappingQuery::Available() is false before.
using ::sysv::linux_backend::FileIdentity;
using ::sysv::linux_backend::IdentifyFile;
using ::sysv::linux_backend::MappingFacts;
using ::sysv::linux_backend::MappingQuery;

// posix_spawn flag that detaches the daemon the library starts from the
// caller's terminal: a session of its own.
inline constexpr short kSpawnDetached = POSIX_SPAWN_SETSID;

// One more than the largest signal number sigaction() takes (glibc's
// _NSIG: 64 signals).
inline constexpr int kSignalLimit = _NSIG;

// SHM_HUGETLB: the pool of huge pages of a size, and the group that may use
// them without CAP_IPC_LOCK (huge_pages.h).
using ::sysv::linux_backend::HugePagePool;
using ::sysv::linux_backend::HugePagePoolOf;
using ::sysv::linux_backend::HugetlbShmGroup;

// The calling process's executable's path, "" when unknown (libsysv and
// sysvipc find what sits beside it): /proc/self/exe (DragonFly: sysctl
// KERN_PROC_PATHNAME).
inline std::string ExecutablePath() {
  char path[PATH_MAX];
  // readlink() truncates silently: a result that fills the buffer may be
  // cut short, and a cut path would name some other file.
  const ssize_t n = readlink("/proc/self/exe", path, sizeof(path));
  if (n <= 0 || static_cast<size_t>(n) >= sizeof(path)) return std::string();
  return std::string(path, static_cast<size_t>(n));
}

// The kernel's own SysV limits and the machine's load, for the
// benchmark's kernel side (kernel_ipc_tuning.h).
using ::sysv::linux_backend::LoadAverages;
using ::sysv::linux_backend::SetKernelMsgmni;
using ::sysv::linux_backend::SetKernelSemmni;
using ::sysv::linux_backend::SetKernelShmmni;

// Files libsysv makes to stand for the kernel's (compat/proc_files.cc): an
// unnamed file with given text opened as the caller asked, and the
// process's open descriptors (content_file.h).
using ::sysv::linux_backend::ForEachOpenDescriptor;
using ::sysv::linux_backend::OpenContentFile;

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

// The calling thread, as IsThreadOf() takes it: its TID.
inline int32_t CurrentThreadId() { return static_cast<int32_t>(gettid()); }

// A process descriptor: readable once the process has exited (the event
// loop and ExitWatch watch it), naming that process for ever. Here a pidfd;
// DragonFly's is a kqueue with an EVFILT_PROC note.
inline absl::StatusOr<backend::UniqueFd> OpenProcessHandle(pid_t pid) { return OpenPidfd(pid); }
inline bool ProcessHandleExited(int process_fd) { return PidfdExited(process_fd); }

// Sends `signal` to the process of `process_fd` (pid `pid`), never to a
// process that took its pid since: pidfd_send_signal() (DragonFly: kill(2)
// unless the handle says it has exited). Returns 0, or -1 with errno
// (ESRCH once it has exited).
inline int SignalProcess(int process_fd, pid_t /*pid*/, int signal) {
  return static_cast<int>(syscall(SYS_pidfd_send_signal, process_fd, signal, nullptr, 0));
}

// Arranges for a forked child to get `signal` when `parent`, its parent,
// exits (the benchmark's workers must not outlive it): PR_SET_PDEATHSIG,
// which survives exec (DragonFly: a thread on the parent's process handle,
// which does not). Returns false if `parent` is no longer the caller's
// parent (it has exited already). Best effort otherwise.
inline bool DieWithParent(pid_t parent, int signal) {
  (void)prctl(PR_SET_PDEATHSIG, signal);
  return getppid() == parent;
}

// Moves the calling process into a private IPC namespace of its own, where
// the kernel's System V objects start empty (the benchmark's kernel side):
// unshare(CLONE_NEWIPC), which needs CAP_SYS_ADMIN. Results: OK; the errno
// of unshare (EPERM without the capability). DragonFly has no IPC
// namespaces (ENOSYS there).
inline absl::Status EnterPrivateIpcNamespace() {
  if (unshare(CLONE_NEWIPC) != 0) {
    return core::ErrnoStatus(errno, absl::StrCat("unshare(CLONE_NEWIPC): ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// Who an accepted connection's peer is, pid included, kernel-vouched. On
// Linux SO_PEERCRED names the pid at connect(2), so the answer is never
// EAGAIN ("not introduced yet"), and a client has nothing to send for it
// (IntroduceSelf). DragonFly's LOCAL_PEERCRED has no pid: there the client
// introduces itself with an SCM_CREDS message.
inline absl::StatusOr<core::Credentials> IdentifyPeer(int fd) { return PeerCredentials(fd); }
inline absl::Status IntroduceSelf(int /*fd*/) { return absl::OkStatus(); }

// The --event_loop values that pick each of this backend's event loops
// (tests run the daemon over each).
inline constexpr const char* kEventLoopChoices[] = {"io_uring", "epoll"};

// The mutex in every set's and queue's region and its owner probe
// (region_mutex.h, lock_owner_probe.h): RegionMutex and LockOwnerProbe are
// names of this namespace already (a holder named by TID and a tag of its
// start time and PID namespace).

// The region platforms by role, not by OS: a client waits for locks as a
// blocked call does; the daemon never waits (region_platform.h).
inline const core::RegionPlatform& ClientRegionPlatform() { return LinuxRegionPlatform(); }
inline const core::RegionPlatform& DaemonRegionPlatform() { return LinuxDaemonRegionPlatform(); }
inline const core::SemPlatform& ClientSemPlatform() { return LinuxSemPlatform(); }
inline const core::SemPlatform& DaemonSemPlatform() { return LinuxDaemonSemPlatform(); }

// The security driver, /dev/sysvipc (backends/linux/driver/): its client is
// POSIX, shared with DragonFly's (backends/common/security_driver.h).
using ::sysv::backend::DriverMode;
using ::sysv::backend::OpenSecurityDriverFor;
using ::sysv::backend::ParseDriverMode;
using ::sysv::backend::SecurityDriver;

}  // namespace linux_backend

namespace platform = linux_backend;

}  // namespace sysv

#endif  // SYSV_BACKENDS_LINUX_PLATFORM_H_
