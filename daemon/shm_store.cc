#include "daemon/shm_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/strings/ascii.h"

#include "backends/common/namespace_layout.h"
#include "backends/platform.h"
#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_constants.h"
#include "daemon/driver_marker.h"
#include "daemon/log.h"
#include "daemon/region_dir.h"

namespace sysv::daemon {

absl::Status ShmStore::Create(int32_t index, uint32_t seq, uint64_t bytes) {
  const std::string name = backend::SegmentFileName(index, seq);
  // Without the driver, SealedObjects::Create replaces a stale file.
  if (driver_ == nullptr) return CreateSegmentFile(name, bytes);
  // A marker left by a crash between create and record is stale: replace it.
  RemoveDriverObject(name);
  (void)platform::UnlinkRegionFile(shm_dir_fd_, name);
  // The daemon admits SHM_HUGETLB and SHM_NORESERVE as the kernel would;
  // the driver's object is plain shmem either way (its notes say why).
  absl::StatusOr<platform::SecurityDriver::Created> created =
      driver_->Create(bytes, /*noreserve=*/false, /*hugetlb=*/false);
  if (!created.ok()) return created.status();
  if (absl::Status status = WriteDriverMarker(shm_dir_fd_, name, created->id); !status.ok()) {
    (void)driver_->Remove(created->id);
    (void)platform::UnlinkRegionFile(shm_dir_fd_, name);
    return status;
  }
  return absl::OkStatus();
}

absl::Status ShmStore::CreateSegmentFile(const std::string& name, uint64_t bytes) {
  return sealed_->Create(SealedObjects::kSegments, shm_dir_fd_, name, bytes).status();
}

int ShmStore::SealedFd(const std::string& name) const { return sealed_->Find(SealedObjects::kSegments, name); }

void ShmStore::Destroy(int32_t index, uint32_t seq) {
  const std::string name = backend::SegmentFileName(index, seq);
  RemoveDriverObject(name);
  absl::Status status = sealed_->Remove(SealedObjects::kSegments, shm_dir_fd_, name);
  if (!status.ok()) SYSV_LOG(kWarning, "destroying segment %d.%u: %s", index, seq, status.ToString());
}

absl::StatusOr<uint32_t> ShmStore::DriverId(int32_t index, uint32_t seq) {
  return ReadDriverMarker(shm_dir_fd_, backend::SegmentFileName(index, seq));
}

void ShmStore::RemoveDriverObject(const std::string& name) {
  if (driver_ != nullptr) RemoveMarkedObject(*driver_, shm_dir_fd_, name);
}

absl::StatusOr<platform::SecurityDriver::Facts> ShmStore::DriverFacts(int32_t index, uint32_t seq) {
  if (driver_ == nullptr) return core::ErrnoStatus(EINVAL, "no security driver");
  absl::StatusOr<uint32_t> id = DriverId(index, seq);
  if (!id.ok()) return id.status();
  return driver_->Stat(*id);
}

absl::StatusOr<bool> ShmStore::MarkRemoved(int32_t index, uint32_t seq) {
  if (driver_ == nullptr) return core::ErrnoStatus(EINVAL, "no security driver");
  absl::StatusOr<uint32_t> id = DriverId(index, seq);
  if (!id.ok()) return id.status();
  return driver_->Remove(*id);
}

absl::Status ShmStore::Lock(int32_t index, uint32_t seq, bool lock, uint32_t uid, uint64_t memlock_limit) {
  if (driver_ == nullptr) return core::ErrnoStatus(EINVAL, "no security driver");
  absl::StatusOr<uint32_t> id = DriverId(index, seq);
  if (!id.ok()) return id.status();
  return driver_->Lock(*id, lock, uid, memlock_limit);
}

uint64_t ShmStore::ResidentPages(int32_t index, uint32_t seq) {
  if (driver_ != nullptr) {
    absl::StatusOr<platform::SecurityDriver::Facts> facts = DriverFacts(index, seq);
    return facts.ok() ? facts->resident_pages : 0;
  }
  struct stat st;
  const std::string name = backend::SegmentFileName(index, seq);
  const int sealed = SealedFd(name);
  if (sealed >= 0 ? fstat(sealed, &st) != 0 : fstatat(shm_dir_fd_, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return 0;
  }
  // On tmpfs, allocated blocks are the pages in memory (or swap).
  return static_cast<uint64_t>(st.st_blocks) * 512 / core::kPageSize;
}

std::optional<core::ShmRegistry::Backing::HugePages> ShmStore::HugePagesOf(int size_log) {
  std::optional<platform::HugePagePool> pool = platform::HugePagePoolOf(size_log);
  if (!pool) return std::nullopt;
  HugePages pages;
  pages.page_size = pool->page_size;
  pages.free_pages = pool->free_pages;
  return pages;
}

uint32_t ShmStore::HugetlbShmGroup() { return platform::HugetlbShmGroup(); }

absl::StatusOr<backend::UniqueFd> ShmStore::OpenForClient(int32_t index, uint32_t seq,
                                                          bool writable) {
  if (driver_ != nullptr) {
    absl::StatusOr<uint32_t> id = DriverId(index, seq);
    if (!id.ok()) return id.status();
    return driver_->OpenObject(*id, writable);
  }
  const std::string name = backend::SegmentFileName(index, seq);
  return sealed_->OpenForClient(SealedObjects::kSegments, shm_dir_fd_, name, writable);
}

ShmStore::SegmentFileMap ShmStore::SegmentFiles() {
  SegmentFileMap files;
  ForEachSegmentFile([&](const std::string& name, int32_t index, uint32_t seq) {
    struct stat st;
    if (fstatat(shm_dir_fd_, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return;
    files[{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)}] = SegmentName{index, seq};
  });
  for (const std::string& name : sealed_->Names(SealedObjects::kSegments)) {
    struct stat st;
    int32_t index = 0;
    uint32_t seq = 0;
    if (!ParseRegionFileName(name, &index, &seq) || fstat(SealedFd(name), &st) != 0) continue;
    files[{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)}] = SegmentName{index, seq};
  }
  return files;
}

void ShmStore::ForEachSegmentFile(const std::function<void(const std::string& name, int32_t index, uint32_t seq)>& fn) {
  const int fd = dup(shm_dir_fd_);
  if (fd < 0) return;
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    close(fd);
    return;
  }
  rewinddir(dir);
  std::vector<std::string> names;
  while (struct dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(dir);
  for (const std::string& name : names) {
    std::vector<std::string> parts = absl::StrSplit(name, '.');
    int32_t index = -1;
    uint32_t seq = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &index) || !absl::SimpleAtoi(parts[1], &seq)) index = -1;
    fn(name, index, seq);
  }
}

int ShmStore::RemoveOrphans(const std::function<bool(int32_t index, uint32_t seq)>& is_live) {
  std::vector<std::string> orphans;
  ForEachSegmentFile([&](const std::string& name, int32_t index, uint32_t seq) {
    if (index < 0 || !is_live(index, seq)) orphans.push_back(name);
  });
  for (const std::string& name : orphans) {
    SYSV_LOG(kWarning, "removing orphaned segment file %s", name);
    RemoveDriverObject(name);
    (void)platform::UnlinkRegionFile(shm_dir_fd_, name);
  }
  std::vector<std::string> sealed_orphans;
  for (const std::string& name : sealed_->Names(SealedObjects::kSegments)) {
    int32_t index = 0;
    uint32_t seq = 0;
    if (!ParseRegionFileName(name, &index, &seq) || !is_live(index, seq)) sealed_orphans.push_back(name);
  }
  for (const std::string& name : sealed_orphans) {
    SYSV_LOG(kWarning, "removing orphaned sealed segment %s", name);
    sealed_->Drop(SealedObjects::kSegments, name);
  }
  return static_cast<int>(orphans.size() + sealed_orphans.size());
}

void ShmStore::Trim(const std::string& name, uint64_t size) { TrimRegionFile(shm_dir_fd_, name, size, true); }

}  // namespace sysv::daemon
