#include "daemon/sem_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/common/namespace_layout.h"
#include "backends/linux/sem_platform.h"
#include "core/ipc/errno_status.h"
#include "daemon/log.h"
#include "daemon/region_dir.h"

namespace sysv::daemon {

SemStore::SemStore(int sem_dir_fd) : sem_dir_fd_(sem_dir_fd) {}

absl::Status SemStore::Map(int32_t index, uint32_t seq) {
  const std::string name = backend::SegmentFileName(index, seq);
  absl::StatusOr<backend::UniqueFd> fd = linux_backend::OpenRegionFile(sem_dir_fd_, name, true);
  if (!fd.ok()) return fd.status();
  absl::StatusOr<uint64_t> size = linux_backend::FileSize(fd->get());
  if (!size.ok()) return size.status();
  absl::StatusOr<linux_backend::MappedRegion> map = linux_backend::MappedRegion::Map(fd->get(), *size, true);
  if (!map.ok()) return map.status();
  auto mapped = std::make_unique<Mapped>();
  mapped->seq = seq;
  mapped->map = *std::move(map);
  // A region a daemon of an older layout left (daemon start; a region being
  // created has the current layout already).
  core::SemSet::UpgradeLayout(mapped->map.data(), mapped->map.size());
  absl::StatusOr<core::SemSet> set =
      core::SemSet::Open(mapped->map.data(), mapped->map.size(), &linux_backend::LinuxDaemonSemPlatform());
  if (!set.ok()) return set.status();
  mapped->set.emplace(*set);
  sets_[index] = std::move(mapped);
  return absl::OkStatus();
}

absl::Status SemStore::Create(int32_t index, uint32_t seq, int32_t nsems, int64_t ctime) {
  const std::string name = backend::SegmentFileName(index, seq);
  (void)linux_backend::UnlinkRegionFile(sem_dir_fd_, name);  // a crash's leftover
  const size_t size = core::SemSet::RegionSize(nsems);
  absl::StatusOr<backend::UniqueFd> fd = linux_backend::CreateRegionFile(sem_dir_fd_, name, size, 0600);
  if (!fd.ok()) return fd.status();
  // Formatting writes through the mapping; on a full file system a write to
  // an unallocated page is SIGBUS, which would kill the daemon. Allocating
  // first turns that into semget's ENOMEM ("not enough memory").
  if (const int err = posix_fallocate(fd->get(), 0, static_cast<off_t>(size)); err != 0) {
    (void)linux_backend::UnlinkRegionFile(sem_dir_fd_, name);
    return core::ErrnoStatus(err == ENOSPC ? ENOMEM : err,
                             absl::StrCat("cannot allocate semaphore region ", name, ": ", std::strerror(err)));
  }
  absl::StatusOr<linux_backend::MappedRegion> map = linux_backend::MappedRegion::Map(fd->get(), size, true);
  if (!map.ok()) {
    (void)linux_backend::UnlinkRegionFile(sem_dir_fd_, name);
    return map.status();
  }
  auto mapped = std::make_unique<Mapped>();
  mapped->seq = seq;
  mapped->map = *std::move(map);
  absl::StatusOr<core::SemSet> set = core::SemSet::Format(mapped->map.data(), mapped->map.size(), nsems,
                                                          ctime, &linux_backend::LinuxDaemonSemPlatform());
  if (!set.ok()) {
    (void)linux_backend::UnlinkRegionFile(sem_dir_fd_, name);
    return set.status();
  }
  mapped->set.emplace(*set);
  sets_[index] = std::move(mapped);
  return absl::OkStatus();
}

void SemStore::Destroy(int32_t index, uint32_t seq) {
  if (core::SemSet* set = Find(index, seq)) set->Remove();
  sets_.erase(index);
  absl::Status status = linux_backend::UnlinkRegionFile(sem_dir_fd_, backend::SegmentFileName(index, seq));
  if (!status.ok()) SYSV_LOG(kWarning, "removing semaphore set %d.%u: %s", index, seq, status.ToString());
}

core::SemRegistry::Backing::Times SemStore::TimesOf(int32_t index, uint32_t seq) {
  Times times;
  if (core::SemSet* set = Find(index, seq)) {
    times.otime = set->OTime();
    times.ctime = set->CTime();
  }
  return times;
}

void SemStore::SetCtime(int32_t index, uint32_t seq, int64_t ctime) {
  if (core::SemSet* set = Find(index, seq)) set->SetCTime(ctime);
}

core::SemSet* SemStore::Find(int32_t index, uint32_t seq) {
  auto it = sets_.find(index);
  if (it == sets_.end() || it->second->seq != seq || !it->second->set) return nullptr;
  return &*it->second->set;
}

void SemStore::ForEach(const std::function<void(int32_t index, core::SemSet& set)>& fn) {
  for (auto& [index, mapped] : sets_) {
    if (mapped->set) fn(index, *mapped->set);
  }
}

absl::StatusOr<backend::UniqueFd> SemStore::OpenForClient(int32_t index, uint32_t seq, bool writable) {
  return linux_backend::OpenRegionFile(sem_dir_fd_, backend::SegmentFileName(index, seq), writable);
}

void SemStore::Recover(const std::function<bool(int32_t index, uint32_t seq)>& is_live) {
  RecoverRegionFiles(sem_dir_fd_, "semaphore set", is_live,
                     [this](int32_t index, uint32_t seq) { return Map(index, seq); });
}

}  // namespace sysv::daemon
