#include "daemon/sem_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/common/namespace_layout.h"
#include "backends/platform.h"
#include "core/ipc/errno_status.h"
#include "daemon/log.h"
#include "daemon/region_dir.h"

namespace sysv::daemon {

SemStore::SemStore(int sem_dir_fd, SealedObjects* sealed, size_t mapped_capacity)
    : sem_dir_fd_(sem_dir_fd), sealed_(sealed), maps_(mapped_capacity) {}

void SemStore::RemoveRegion(const std::string& name) {
  absl::Status status = sealed_->Remove(SealedObjects::kSets, sem_dir_fd_, name);
  if (!status.ok()) SYSV_LOG(kWarning, "removing semaphore region %s: %s", name, status.ToString());
}

absl::StatusOr<SemStore::Cache::Mapping*> SemStore::Map(int32_t index, const Record& record, bool upgrade,
                                                        bool repair) {
  const std::string name = backend::SegmentFileName(index, record.seq);
  absl::StatusOr<SealedObjects::ObjectFd> fd = sealed_->Open(SealedObjects::kSets, sem_dir_fd_, name);
  if (!fd.ok()) return fd.status();
  // The size the daemon's record says, not the file's: a client may have
  // cut a region file short (or grown it); a sealed region keeps its size.
  const size_t size = core::SemSet::RegionSize(record.layout.nsems);
  absl::StatusOr<bool> was_short = fd->file ? RestoreRegionSize(fd->fd, size) : false;
  if (!was_short.ok()) return was_short.status();
  absl::StatusOr<platform::MappedRegion> map = platform::MappedRegion::Map(fd->fd, size, true);
  if (!map.ok()) return map.status();
  absl::StatusOr<backend::GuardedMapping> guarded = backend::GuardedMapping::Guard(*std::move(map));
  if (!guarded.ok()) return guarded.status();
  // A region a daemon of an older layout left (daemon start; a region being
  // created has the current layout already).
  if (upgrade) core::SemSet::UpgradeLayout(guarded->data(), guarded->size());
  absl::StatusOr<core::SemSet> set =
      core::SemSet::Open(guarded->data(), guarded->size(), &platform::DaemonSemPlatform());
  if (repair || (*was_short && (!set.ok() || !core::SemSet::HeaderIntact(guarded->data(), guarded->size())))) {
    SYSV_LOG(kWarning, "semaphore set %d.%u: its file was cut short; its values are reset", index, record.seq);
    set = core::SemSet::Format(guarded->data(), guarded->size(), record.layout.nsems, record.layout.ctime,
                               &platform::DaemonSemPlatform());
  }
  if (!set.ok()) return set.status();
  // The daemon maps only live sets and drops the mapping when it removes
  // one: a removal mark in the region is a scribble (core/sem/sem_set.h).
  set->BindToOwner();
  return &maps_.Insert(index, Cache::Mapping{*std::move(guarded), *set});
}

absl::Status SemStore::Create(int32_t index, uint32_t seq, int32_t nsems, int64_t ctime) {
  const std::string name = backend::SegmentFileName(index, seq);
  const size_t size = core::SemSet::RegionSize(nsems);
  absl::StatusOr<SealedObjects::ObjectFd> fd = sealed_->Create(SealedObjects::kSets, sem_dir_fd_, name, size);
  if (!fd.ok()) return fd.status();
  // The daemon and clients write a region file through mappings; on a full
  // file system a write to an unallocated page is SIGBUS, which would kill
  // the daemon. Allocating first turns that into semget's ENOMEM ("not
  // enough memory"). A sealed region needs none of it: a memfd lives on the
  // kernel's internal shmem mount, which has no size (fstatfs: f_blocks 0),
  // so its pages are charged to memory as the kernel's own sets are, and
  // allocating all 270 KiB of a set's mostly unused arena was the largest
  // part of a semget (issue #14's profile).
  if (const int err = fd->file ? platform::AllocateFileSpace(fd->fd, static_cast<off_t>(size)) : 0; err != 0) {
    RemoveRegion(name);
    return core::ErrnoStatus(err == ENOSPC ? ENOMEM : err,
                             absl::StrCat("cannot allocate semaphore region ", name, ": ", std::strerror(err)));
  }
  // Written, not mapped: mapping, faulting in and unmapping (at IPC_RMID)
  // each new set was a third of the daemon's time per create and remove
  // (issue #14's profile). The daemon maps a set when it first uses it.
  absl::Status written = WriteNewRegion(fd->fd, core::SemSet::FormattedBytes(nsems), [&](void* base) {
    return core::SemSet::FormatHeader(base, nsems, ctime, &platform::DaemonSemPlatform());
  });
  if (!written.ok()) {
    RemoveRegion(name);
    SYSV_LOG(kError, "cannot write new semaphore set %d.%u: %s", index, seq, written.ToString());
    return core::ErrnoStatus(ENOMEM, absl::StrCat("cannot write semaphore region ", name, ": ", written.message()));
  }
  live_[index] = Record{seq, Layout{nsems, ctime}, /*used=*/false};
  return absl::OkStatus();
}

void SemStore::Destroy(int32_t index, uint32_t seq) {
  // A set nobody used since its create (never mapped by the daemon, its
  // region given to no client) has no sleeper to wake and no mapping to mark
  // removed: its region just goes, unmapped.
  auto live = live_.find(index);
  const bool used = live != live_.end() && live->second.seq == seq && live->second.used;
  if (core::SemSet* set = used ? Find(index, seq) : nullptr) set->Remove();
  maps_.Erase(index);
  live_.erase(index);
  RemoveRegion(backend::SegmentFileName(index, seq));
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
  if (auto live = live_.find(index); live != live_.end() && live->second.seq == seq) live->second.layout.ctime = ctime;
}

bool SemStore::Faulted(int32_t index) {
  Cache::Mapping* mapping = maps_.Find(index);
  return mapping != nullptr && mapping->region.faulted();
}

core::SemSet* SemStore::Find(int32_t index, uint32_t seq) {
  auto live = live_.find(index);
  if (live == live_.end() || live->second.seq != seq) return nullptr;
  Cache::Mapping* mapping = maps_.Find(index);
  // A faulted mapping is private zeros: map the file again, repaired.
  const bool faulted = mapping != nullptr && mapping->region.faulted();
  if (faulted) {
    maps_.Erase(index);
    mapping = nullptr;
  }
  if (mapping == nullptr) {
    live->second.used = true;
    absl::StatusOr<Cache::Mapping*> mapped = Map(index, live->second, /*upgrade=*/false, /*repair=*/faulted);
    if (!mapped.ok()) {
      SYSV_LOG(kError, "cannot map semaphore set %d.%u: %s", index, seq, mapped.status().ToString());
      return nullptr;
    }
    mapping = *mapped;
  }
  return &mapping->view;
}

void SemStore::RepairFaulted() {
  std::vector<std::pair<int32_t, uint32_t>> faulted;
  for (const auto& [index, record] : live_) {
    if (Faulted(index)) faulted.emplace_back(index, record.seq);
  }
  for (const auto& [index, seq] : faulted) (void)Find(index, seq);
}

void SemStore::ForEach(const std::function<void(int32_t index, uint32_t seq, core::SemSet& set)>& fn) {
  // A copy: mapping one set may unmap another, never add or remove a set.
  std::vector<std::pair<int32_t, uint32_t>> live;
  for (const auto& [index, record] : live_) live.emplace_back(index, record.seq);
  for (const auto& [index, seq] : live) {
    if (core::SemSet* set = Find(index, seq)) fn(index, seq, *set);
  }
}

absl::StatusOr<backend::UniqueFd> SemStore::OpenForClient(int32_t index, uint32_t seq, bool writable) {
  auto live = live_.find(index);
  if (live == live_.end() || live->second.seq != seq) return core::ErrnoStatus(EIDRM, "no such set");
  live->second.used = true;
  // Mapped (Find) or not, the file may have been cut short since the
  // daemon last looked: Map() restores it, and formats what is left again.
  const std::string name = backend::SegmentFileName(index, seq);
  absl::StatusOr<SealedObjects::ObjectFd> own = sealed_->Open(SealedObjects::kSets, sem_dir_fd_, name);
  if (!own.ok()) return own.status();
  absl::StatusOr<bool> was_short =
      own->file ? RestoreRegionSize(own->fd, core::SemSet::RegionSize(live->second.layout.nsems)) : false;
  if (!was_short.ok()) return was_short.status();
  if (*was_short) {
    maps_.Erase(index);
    if (absl::StatusOr<Cache::Mapping*> mapped = Map(index, live->second, /*upgrade=*/false, /*repair=*/true);
        !mapped.ok()) {
      return core::ErrnoStatus(EIDRM, absl::StrCat("the set's region cannot be repaired: ", mapped.status().message()));
    }
  } else if (Find(index, seq) == nullptr) {
    return core::ErrnoStatus(EIDRM, "the set's region cannot be mapped");
  }
  return sealed_->OpenForClient(SealedObjects::kSets, sem_dir_fd_, name, writable);
}

void SemStore::Recover(const std::function<std::optional<Layout>(int32_t index, uint32_t seq)>& live) {
  const auto recover = [&](int32_t index, uint32_t seq) {
    const Record record{seq, *live(index, seq), /*used=*/true};
    absl::StatusOr<Cache::Mapping*> mapped = Map(index, record, /*upgrade=*/true, /*repair=*/false);
    if (!mapped.ok()) return mapped.status();
    live_[index] = record;
    return absl::OkStatus();
  };
  // The sealed regions the keeper gave back first: a set has one region,
  // sealed or a file, and the file of a sealed set is a crash's leftover.
  for (const std::string& name : sealed_->Names(SealedObjects::kSets)) {
    int32_t index = 0;
    uint32_t seq = 0;
    absl::Status status = ParseRegionFileName(name, &index, &seq) && live(index, seq).has_value()
                              ? recover(index, seq)
                              : core::ErrnoStatus(EIDRM, "no live set names it");
    if (!status.ok()) {
      SYSV_LOG(kWarning, "removing sealed semaphore region %s: %s", name, status.ToString());
      (void)sealed_->Drop(SealedObjects::kSets, name);
    }
  }
  RecoverRegionFiles(
      sem_dir_fd_, "semaphore set",
      [&](int32_t index, uint32_t seq) {
        return live(index, seq).has_value() && sealed_->Find(SealedObjects::kSets, backend::SegmentFileName(index, seq)) < 0;
      },
      recover);
}

void SemStore::Trim(const std::string& name) {
  int32_t index = 0;
  uint32_t seq = 0;
  if (!ParseRegionFileName(name, &index, &seq)) return;
  auto live = live_.find(index);
  if (live == live_.end() || live->second.seq != seq) return;
  TrimRegionFile(sem_dir_fd_, name, core::SemSet::RegionSize(live->second.layout.nsems), /*grow_shorter=*/false);
}

}  // namespace sysv::daemon
