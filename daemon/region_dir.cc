#include "daemon/region_dir.h"

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "backends/common/namespace_layout.h"
#include "backends/common/posix_region_file.h"
#include "backends/platform.h"
#include "core/ipc/errno_status.h"
#include "daemon/log.h"

namespace sysv::daemon {

std::vector<std::string> ListDirectory(int dir_fd) {
  std::vector<std::string> names;
  const int fd = dup(dir_fd);
  if (fd < 0) return names;
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    close(fd);
    return names;
  }
  rewinddir(dir);
  while (struct dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') names.push_back(entry->d_name);
  }
  closedir(dir);
  return names;
}

void RecoverRegionFiles(int dir_fd, const char* what, const std::function<bool(int32_t index, uint32_t seq)>& is_live,
                        const std::function<absl::Status(int32_t index, uint32_t seq)>& map) {
  for (const std::string& name : ListDirectory(dir_fd)) {
    std::vector<std::string> parts = absl::StrSplit(name, '.');
    int32_t index = -1;
    uint32_t seq = 0;
    if (parts.size() == 2 && absl::SimpleAtoi(parts[0], &index) && absl::SimpleAtoi(parts[1], &seq) &&
        is_live(index, seq)) {
      if (absl::Status status = map(index, seq); !status.ok()) {
        SYSV_LOG(kError, "%s %s cannot be mapped: %s", what, name, status.ToString());
      }
      continue;
    }
    SYSV_LOG(kWarning, "removing orphaned %s region %s", what, name);
    (void)backend::UnlinkRegionFile(dir_fd, name);
  }
}

absl::StatusOr<bool> RestoreRegionSize(int fd, uint64_t size) {
  absl::StatusOr<uint64_t> now = backend::FileSize(fd);
  if (!now.ok()) return now.status();
  if (*now >= size) return false;
  if (absl::Status status = backend::GrowRegionFile(fd, size); !status.ok()) return status;
  return true;
}

bool ParseRegionFileName(const std::string& name, int32_t* index, uint32_t* seq, uint32_t* generation) {
  std::vector<std::string> parts = absl::StrSplit(name, '.');
  uint32_t later = 0;
  if (parts.size() == 3 && (!absl::SimpleAtoi(parts[2], &later) || later == 0)) return false;
  if (generation != nullptr) *generation = later;
  return (parts.size() == 2 || parts.size() == 3) && absl::SimpleAtoi(parts[0], index) && *index >= 0 &&
         absl::SimpleAtoi(parts[1], seq);
}

std::string RegionName(int32_t index, uint32_t seq, uint32_t generation) {
  if (generation == 0) return backend::SegmentFileName(index, seq);
  return absl::StrCat(index, ".", seq, ".", generation);
}

void TrimRegionFile(int dir_fd, const std::string& name, uint64_t size, bool grow_shorter) {
  absl::StatusOr<backend::UniqueFd> fd = platform::OpenRegionFile(dir_fd, name, /*writable=*/true);
  if (!fd.ok()) return;  // removed meanwhile
  absl::StatusOr<bool> changed = platform::RestoreFileExtent(fd->get(), size, grow_shorter);
  if (!changed.ok()) {
    SYSV_LOG(kWarning, "cannot take back region file %s to %u bytes: %s", name, size, changed.status().ToString());
  } else if (*changed) {
    SYSV_LOG(kWarning, "region file %s was resized or allocated through a client's descriptor; "
             "cut back to %u bytes", name, size);
  }
}

absl::Status WriteNewRegion(int fd, size_t bytes, const std::function<absl::Status(void* base)>& format) {
  constexpr std::align_val_t kAlign{64};
  struct Free {
    void operator()(void* p) const { ::operator delete(p, kAlign); }
  };
  std::unique_ptr<void, Free> buffer(::operator new(bytes, kAlign));
  std::memset(buffer.get(), 0, bytes);
  if (absl::Status status = format(buffer.get()); !status.ok()) return status;
  const auto* data = static_cast<const unsigned char*>(buffer.get());
  // The region reads as zeros already: only the bytes up to the last one
  // `format` set are written, so that pages of zeros (a set's empty slots)
  // are not allocated and copied on every create.
  size_t end = bytes;
  while (end > 0 && data[end - 1] == 0) --end;
  for (size_t done = 0; done < end;) {
    const ssize_t n = pwrite(fd, data + done, end - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return core::ErrnoStatus(n < 0 ? errno : EIO, "write a new region");
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace sysv::daemon
