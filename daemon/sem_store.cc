#include "daemon/sem_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/common/namespace_layout.h"
#include "backends/linux/sem_platform.h"
#include "core/ipc/errno_status.h"
#include "daemon/log.h"
#include "daemon/region_dir.h"

namespace sysv::daemon {

SemStore::SemStore(int sem_dir_fd, size_t mapped_capacity) : sem_dir_fd_(sem_dir_fd), maps_(mapped_capacity) {}

absl::StatusOr<SemStore::Cache::Mapping*> SemStore::Map(int32_t index, uint32_t seq, bool upgrade) {
  const std::string name = backend::SegmentFileName(index, seq);
  absl::StatusOr<backend::UniqueFd> fd = linux_backend::OpenRegionFile(sem_dir_fd_, name, true);
  if (!fd.ok()) return fd.status();
  absl::StatusOr<uint64_t> size = linux_backend::FileSize(fd->get());
  if (!size.ok()) return size.status();
  absl::StatusOr<linux_backend::MappedRegion> map = linux_backend::MappedRegion::Map(fd->get(), *size, true);
  if (!map.ok()) return map.status();
  // A region a daemon of an older layout left (daemon start; a region being
  // created has the current layout already).
  if (upgrade) core::SemSet::UpgradeLayout(map->data(), map->size());
  absl::StatusOr<core::SemSet> set =
      core::SemSet::Open(map->data(), map->size(), &linux_backend::LinuxDaemonSemPlatform());
  if (!set.ok()) return set.status();
  return &maps_.Insert(index, Cache::Mapping{*std::move(map), *set});
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
    SYSV_LOG(kError, "cannot map new semaphore set %d.%u: %s", index, seq, map.status().ToString());
    return core::ErrnoStatus(ENOMEM, absl::StrCat("cannot map semaphore region ", name, ": ", map.status().message()));
  }
  absl::StatusOr<core::SemSet> set =
      core::SemSet::Format(map->data(), map->size(), nsems, ctime, &linux_backend::LinuxDaemonSemPlatform());
  if (!set.ok()) {
    (void)linux_backend::UnlinkRegionFile(sem_dir_fd_, name);
    return set.status();
  }
  maps_.Insert(index, Cache::Mapping{*std::move(map), *set});
  live_[index] = seq;
  return absl::OkStatus();
}

void SemStore::Destroy(int32_t index, uint32_t seq) {
  if (core::SemSet* set = Find(index, seq)) set->Remove();
  maps_.Erase(index);
  live_.erase(index);
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
  auto live = live_.find(index);
  if (live == live_.end() || live->second != seq) return nullptr;
  Cache::Mapping* mapping = maps_.Find(index);
  if (mapping == nullptr) {
    absl::StatusOr<Cache::Mapping*> mapped = Map(index, seq, /*upgrade=*/false);
    if (!mapped.ok()) {
      SYSV_LOG(kError, "cannot map semaphore set %d.%u: %s", index, seq, mapped.status().ToString());
      return nullptr;
    }
    mapping = *mapped;
  }
  return &mapping->view;
}

void SemStore::ForEach(const std::function<void(int32_t index, uint32_t seq, core::SemSet& set)>& fn) {
  // A copy: mapping one set may unmap another, never add or remove a set.
  const std::vector<std::pair<int32_t, uint32_t>> live(live_.begin(), live_.end());
  for (const auto& [index, seq] : live) {
    if (core::SemSet* set = Find(index, seq)) fn(index, seq, *set);
  }
}

absl::StatusOr<backend::UniqueFd> SemStore::OpenForClient(int32_t index, uint32_t seq, bool writable) {
  return linux_backend::OpenRegionFile(sem_dir_fd_, backend::SegmentFileName(index, seq), writable);
}

void SemStore::Recover(const std::function<bool(int32_t index, uint32_t seq)>& is_live) {
  RecoverRegionFiles(sem_dir_fd_, "semaphore set", is_live, [this](int32_t index, uint32_t seq) {
    absl::StatusOr<Cache::Mapping*> mapped = Map(index, seq, /*upgrade=*/true);
    if (!mapped.ok()) return mapped.status();
    live_[index] = seq;
    return absl::OkStatus();
  });
}

}  // namespace sysv::daemon
