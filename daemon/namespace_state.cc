#include "daemon/namespace_state.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "backends/common/namespace_dir.h"
#include "backends/common/namespace_layout.h"
#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_id.h"
#include "core/sem/sem_set.h"
#include "daemon/log.h"

namespace sysv::daemon {
namespace {

using backend::UniqueFd;
using core::ErrnoStatus;

absl::StatusOr<UniqueFd> MakeAndOpenDir(int at_fd, const std::string& name, const std::string& path, mode_t mode) {
  if (mkdirat(at_fd, name.c_str(), mode) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, absl::StrFormat("cannot create %s: %s", path, std::strerror(errno)));
  }
  return backend::OpenOwnEntry(at_fd, name.c_str(), path, O_RDONLY | O_DIRECTORY);
}

// Takes the namespace lock in `dir_fd` and writes our pid into it. The file
// is opened without following a symlink and without truncating (O_TRUNC
// would act before any check), and is written only once it is known to be
// our own regular file and ours to lock. Creating, others' names, sub
// directories: everything in the namespace is opened through OpenOwnEntry()
// (or, for region files, posix_region_file.h's O_NOFOLLOW/O_EXCL calls in a
// state directory that is ours alone).
absl::StatusOr<UniqueFd> TakeLock(int dir_fd, const std::string& dir) {
  const std::string path = backend::LockPath(dir);
  absl::StatusOr<UniqueFd> opened = backend::OpenOwnEntry(dir_fd, backend::kLockName, path, O_RDWR | O_CREAT, 0644);
  if (!opened.ok()) return opened.status();
  UniqueFd fd = *std::move(opened);
  // A daemon that just died may hold the lock a little longer than its pid
  // lives (io_uring tears its files down asynchronously): wait for a holder
  // that no longer exists, up to a few seconds.
  for (int attempt = 0; flock(fd.get(), LOCK_EX | LOCK_NB) != 0; ++attempt) {
    const int err = errno;
    char buf[32] = {};
    const ssize_t n = pread(fd.get(), buf, sizeof(buf) - 1, 0);
    std::string holder = n > 0 ? std::string(absl::StripAsciiWhitespace(std::string(buf, n))) : "?";
    int holder_pid = 0;
    if (err == EWOULDBLOCK && attempt < 500 && absl::SimpleAtoi(holder, &holder_pid) &&
        holder_pid > 0 && kill(holder_pid, 0) != 0 && errno == ESRCH) {
      usleep(10000);
      continue;
    }
    if (err == EWOULDBLOCK) {
      return ErrnoStatus(EADDRINUSE,
                         absl::StrFormat("another sysvipcd (pid %s) already serves %s", holder, dir));
    }
    return ErrnoStatus(err, absl::StrFormat("cannot lock %s: %s", path, std::strerror(err)));
  }
  const std::string pid = absl::StrCat(getpid(), "\n");
  if (ftruncate(fd.get(), 0) != 0 || pwrite(fd.get(), pid.data(), pid.size(), 0) < 0) {
    return ErrnoStatus(errno, absl::StrFormat("cannot write %s: %s", path, std::strerror(errno)));
  }
  return fd;
}

uint64_t NewNamespaceId() {
  std::random_device random;
  return (uint64_t{random()} << 32) | random() | 1;  // never 0
}

}  // namespace

absl::StatusOr<std::unique_ptr<NamespaceState>> NamespaceState::Open(
    const backend::NamespaceDir& dir, const core::NamespaceLimits& limits) {
  std::unique_ptr<NamespaceState> state(new NamespaceState());
  state->dir_ = dir.path;
  // Everything below is reached through this verified descriptor: a path
  // would be resolved again at every use.
  absl::StatusOr<backend::VerifiedDir> verified = backend::CreateNamespaceDir(dir);
  if (!verified.ok()) return verified.status();
  state->socket_mode_ = backend::SocketMode(dir);
  state->dir_fd_ = std::move(verified->fd);
  absl::StatusOr<UniqueFd> lock = TakeLock(state->dir_fd_.get(), dir.path);
  if (!lock.ok()) return lock.status();
  state->lock_fd_ = *std::move(lock);

  const std::string state_path = backend::StatePath(dir.path);
  absl::StatusOr<UniqueFd> state_dir =
      MakeAndOpenDir(state->dir_fd_.get(), backend::kStateDirName, state_path, 0700);
  if (!state_dir.ok()) return state_dir.status();
  // The state directory is the daemon's alone, whatever umask made it.
  if (fchmod(state_dir->get(), 0700) != 0) {
    return ErrnoStatus(errno, absl::StrFormat("cannot chmod %s: %s", state_path, std::strerror(errno)));
  }
  const auto sub_dir = [&](const char* name) {
    return MakeAndOpenDir(state_dir->get(), name, absl::StrCat(state_path, "/", name), 0700);
  };
  absl::StatusOr<UniqueFd> shm_dir = sub_dir(backend::kShmDirName);
  if (!shm_dir.ok()) return shm_dir.status();
  state->shm_dir_ = *std::move(shm_dir);
  absl::StatusOr<UniqueFd> sem_dir = sub_dir(backend::kSemDirName);
  if (!sem_dir.ok()) return sem_dir.status();
  state->sem_dir_ = *std::move(sem_dir);
  absl::StatusOr<UniqueFd> msg_dir = sub_dir(backend::kMsgDirName);
  if (!msg_dir.ok()) return msg_dir.status();
  state->msg_dir_ = *std::move(msg_dir);
  absl::StatusOr<UniqueFd> ledger_dir = sub_dir(backend::kLedgerDirName);
  if (!ledger_dir.ok()) return ledger_dir.status();
  state->ledger_dir_ = *std::move(ledger_dir);

  const uint64_t namespace_id = NewNamespaceId();
  if (absl::Status status = state->shm_.Open(state_dir->get(), backend::kShmTableName, core::IpcKind::kShm,
                                             namespace_id, &state->recovered_);
      !status.ok()) {
    return status;
  }
  if (absl::Status status = state->sem_.Open(state_dir->get(), backend::kSemTableName, core::IpcKind::kSem,
                                             namespace_id, &state->recovered_);
      !status.ok()) {
    return status;
  }
  if (absl::Status status = state->msg_.Open(state_dir->get(), backend::kMsgTableName, core::IpcKind::kMsg,
                                             namespace_id, &state->recovered_);
      !status.ok()) {
    return status;
  }
  state->user_quota_ = std::make_unique<core::UserQuota>(limits);
  // A set takes its region's bytes of the state file system (allocated at
  // semget), so that is what its creator is charged.
  state->user_quota_->set_sem_region_bytes([](uint64_t nsems) -> uint64_t {
    // SemSet holds at most 32000 semaphores; a table entry says no more.
    return core::SemSet::RegionSize(static_cast<int32_t>(std::min<uint64_t>(nsems, 32000)));
  });
  // The limits the tables' headers carry for clients are written by the
  // server (core/ipc/table_limits.h), once the registries exist.
  return state;
}

absl::Status NamespaceState::Table::Open(int state_dir_fd, const char* name, core::IpcKind kind,
                                         uint64_t namespace_id, bool* recovered) {
  // Tables always have room for IPCMNI entries (a sparse file), so that the
  // *MNI limits can be raised without moving the table.
  const uint32_t capacity = core::kIpcMni;
  const size_t size = core::ObjectTableSize(capacity);
  absl::StatusOr<UniqueFd> fd = platform::OpenRegionFile(state_dir_fd, name, /*writable=*/true);
  bool fresh = false;
  if (!fd.ok() && core::ErrnoOf(fd.status()) == ENOENT) {
    fd = platform::CreateRegionFile(state_dir_fd, name, size, 0600);
    fresh = true;
    // Format writes every entry; where the file system cannot hold the
    // table that is SIGBUS, so allocate it first for a clear error.
    if (fd.ok()) {
      if (const int err = platform::AllocateFileSpace(fd->get(), static_cast<off_t>(size)); err != 0) {
        (void)platform::UnlinkRegionFile(state_dir_fd, name);
        return ErrnoStatus(err, absl::StrFormat("cannot allocate %s (%u bytes): %s", name, size, std::strerror(err)));
      }
    }
  }
  if (!fd.ok()) return fd.status();
  absl::StatusOr<uint64_t> file_size = platform::FileSize(fd->get());
  if (!file_size.ok()) return file_size.status();
  if (*file_size < size) {
    return ErrnoStatus(EINVAL, absl::StrFormat("%s is %u bytes, expected %u: not a table of this version",
                                               name, *file_size, size));
  }
  absl::StatusOr<platform::MappedRegion> map =
      platform::MappedRegion::Map(fd->get(), size, /*writable=*/true);
  if (!map.ok()) return map.status();
  map_.emplace(*std::move(map));
  // A daemon killed between creating the table file and formatting it left
  // a file without a magic number (the magic is written last): nothing was
  // ever recorded in it, so it is formatted now.
  if (!fresh && static_cast<core::ObjectTableHeader*>(map_->data())->magic.load(std::memory_order_acquire) == 0) {
    SYSV_LOG(kWarning, "%s was never formatted (a start was interrupted); formatting it", name);
    fresh = true;
  }
  absl::StatusOr<core::ObjectTable> table =
      fresh ? core::ObjectTable::Format(map_->data(), size, kind, capacity, namespace_id)
            : core::ObjectTable::Open(map_->data(), size, kind);
  if (!table.ok()) return table.status();
  table_.emplace(*table);
  if (!fresh) {
    *recovered = true;
    if (int repaired = table_->RepairTornEntries(); repaired > 0) {
      SYSV_LOG(kWarning, "repaired %d %s entries a previous daemon left mid-update", repaired, name);
    }
  }
  // Made now, while the name exists: not every OS can reopen a descriptor
  // read-only without its name (backends/dragonfly/region_file.h).
  absl::StatusOr<UniqueFd> readonly = platform::ReopenReadOnlyAt(state_dir_fd, name, fd->get());
  if (!readonly.ok()) return readonly.status();
  readonly_fd_ = *std::move(readonly);
  return absl::OkStatus();
}

}  // namespace sysv::daemon
