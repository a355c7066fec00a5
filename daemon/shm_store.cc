#include "daemon/shm_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cerrno>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

#include "backends/common/namespace_layout.h"
#include "backends/linux/region_file.h"
#include "core/ipc/ipc_constants.h"
#include "daemon/log.h"

namespace sysv::daemon {

absl::Status ShmStore::Create(int32_t index, uint32_t seq, uint64_t bytes) {
  const std::string name = backend::SegmentFileName(index, seq);
  // A file left by a crash between create and record is stale: replace it.
  (void)linux_backend::UnlinkRegionFile(shm_dir_fd_, name);
  absl::StatusOr<backend::UniqueFd> fd =
      linux_backend::CreateRegionFile(shm_dir_fd_, name, bytes, 0600);
  return fd.status();
}

void ShmStore::Destroy(int32_t index, uint32_t seq) {
  absl::Status status = linux_backend::UnlinkRegionFile(shm_dir_fd_, backend::SegmentFileName(index, seq));
  if (!status.ok()) SYSV_LOG(kWarning, "destroying segment %d.%u: %s", index, seq, status.ToString());
}

uint64_t ShmStore::ResidentPages(int32_t index, uint32_t seq) {
  struct stat st;
  if (fstatat(shm_dir_fd_, backend::SegmentFileName(index, seq).c_str(), &st, 0) != 0) return 0;
  // On tmpfs, allocated blocks are the pages in memory (or swap).
  return static_cast<uint64_t>(st.st_blocks) * 512 / core::kPageSize;
}

absl::StatusOr<backend::UniqueFd> ShmStore::OpenForClient(int32_t index, uint32_t seq,
                                                          bool writable) {
  return linux_backend::OpenRegionFile(shm_dir_fd_, backend::SegmentFileName(index, seq), writable);
}

int ShmStore::RemoveOrphans(const std::function<bool(int32_t index, uint32_t seq)>& is_live) {
  const int fd = dup(shm_dir_fd_);
  if (fd < 0) return 0;
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    close(fd);
    return 0;
  }
  rewinddir(dir);
  std::vector<std::string> orphans;
  while (struct dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    std::vector<std::string> parts = absl::StrSplit(name, '.');
    int32_t index = -1;
    uint32_t seq = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &index) || !absl::SimpleAtoi(parts[1], &seq) ||
        !is_live(index, seq)) {
      orphans.push_back(name);
    }
  }
  closedir(dir);
  for (const std::string& name : orphans) {
    SYSV_LOG(kWarning, "removing orphaned segment file %s", name);
    (void)linux_backend::UnlinkRegionFile(shm_dir_fd_, name);
  }
  return static_cast<int>(orphans.size());
}

}  // namespace sysv::daemon
