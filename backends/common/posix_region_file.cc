#include "backends/common/posix_region_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "backends/common/raw_syscalls.h"
#include "backends/common/unique_fd.h"
#include "core/ipc/errno_status.h"

namespace sysv::backend {
namespace {

using ::sysv::core::ErrnoStatus;

// A region file name is one path component: openat() with it can reach
// nothing outside the directory.
absl::Status CheckName(absl::string_view name) {
  if (name.empty() || name == "." || name == ".." ||
      name.find('/') != absl::string_view::npos ||
      name.find('\0') != absl::string_view::npos) {
    return ErrnoStatus(EINVAL, absl::StrCat("bad region file name \"", name, "\""));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<UniqueFd> CreateRegionFile(int dir_fd, absl::string_view name,
                                          uint64_t size, mode_t mode) {
  if (absl::Status status = CheckName(name); !status.ok()) return status;
  if (size > static_cast<uint64_t>(std::numeric_limits<off_t>::max())) {
    return ErrnoStatus(EFBIG, absl::StrCat("region size ", size));
  }
  const std::string path(name);
  // O_EXCL: a name is never reused while it exists (a leftover from a crash
  // is for recovery to judge, not to be truncated here). With O_CREAT|O_EXCL
  // POSIX requires failure (EEXIST) on a symlink, so none is followed.
  UniqueFd fd(openat(dir_fd, path.c_str(),
                     O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd) return ErrnoStatus(errno, absl::StrCat("create region file ", path));
  // openat() applied the umask; set the mode exactly. Then size the file.
  if (fchmod(fd.get(), mode) != 0 ||
      ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
    const int errnum = errno;
    unlinkat(dir_fd, path.c_str(), 0);
    return ErrnoStatus(errnum, absl::StrCat("size region file ", path, " to ", size));
  }
  return fd;
}

absl::StatusOr<UniqueFd> OpenRegionFile(int dir_fd, absl::string_view name,
                                        bool writable) {
  if (absl::Status status = CheckName(name); !status.ok()) return status;
  const std::string path(name);
  UniqueFd fd(openat(dir_fd, path.c_str(),
                     (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return ErrnoStatus(errno, absl::StrCat("open region file ", path));
  return fd;
}

absl::Status UnlinkRegionFile(int dir_fd, absl::string_view name) {
  if (absl::Status status = CheckName(name); !status.ok()) return status;
  const std::string path(name);
  if (unlinkat(dir_fd, path.c_str(), 0) != 0) {
    return ErrnoStatus(errno, absl::StrCat("unlink region file ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> ReopenReadOnlyAt(int dir_fd, absl::string_view name,
                                          int fd) {
  struct stat original;
  if (RawFstat(fd, &original) != 0) {
    return ErrnoStatus(errno, absl::StrCat("reopen ", name, ": fstat"));
  }
  absl::StatusOr<UniqueFd> reopened = OpenRegionFile(dir_fd, name, false);
  if (!reopened.ok()) return reopened.status();
  struct stat now;
  if (RawFstat(reopened->get(), &now) != 0) {
    return ErrnoStatus(errno, absl::StrCat("reopen ", name, ": fstat"));
  }
  // The name may have been unlinked and made again since `fd` was opened.
  if (now.st_dev != original.st_dev || now.st_ino != original.st_ino) {
    return ErrnoStatus(ESTALE, absl::StrCat("region file ", name,
                                            " is no longer the file open"));
  }
  return reopened;
}

absl::StatusOr<uint64_t> FileSize(int fd) {
  struct stat st;
  if (RawFstat(fd, &st) != 0) return ErrnoStatus(errno, "fstat");
  return static_cast<uint64_t>(st.st_size);
}

absl::Status GrowRegionFile(int fd, uint64_t size) {
  absl::StatusOr<uint64_t> current = FileSize(fd);
  if (!current.ok()) return current.status();
  if (*current >= size) return absl::OkStatus();
  if (size > static_cast<uint64_t>(std::numeric_limits<off_t>::max())) {
    return ErrnoStatus(EFBIG, absl::StrCat("a ", size, "-byte file"));
  }
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    return ErrnoStatus(errno, absl::StrCat("ftruncate to ", size, " bytes"));
  }
  return absl::OkStatus();
}

absl::StatusOr<MappedRegion> MappedRegion::Map(int fd, size_t size,
                                               bool writable) {
  if (size == 0) return ErrnoStatus(EINVAL, "map 0 bytes");
  absl::StatusOr<uint64_t> file_size = FileSize(fd);
  if (!file_size.ok()) return file_size.status();
  if (*file_size < size) {
    return ErrnoStatus(EINVAL, absl::StrCat("map ", size, " bytes of a ",
                                            *file_size, "-byte file"));
  }
  return MapGrowable(fd, size, writable);
}

absl::StatusOr<MappedRegion> MappedRegion::MapGrowable(int fd, size_t reserve,
                                                       bool writable) {
  if (reserve == 0) return ErrnoStatus(EINVAL, "map 0 bytes");
  void* data = mmap(nullptr, reserve, writable ? PROT_READ | PROT_WRITE : PROT_READ,
                    MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) {
    return ErrnoStatus(errno, absl::StrCat("mmap ", reserve, " bytes"));
  }
  // Touching one block must not read ahead the (mostly sparse) rest: on a
  // disk file system that would fill the page cache with zeros.
  (void)posix_madvise(data, reserve, POSIX_MADV_RANDOM);
  return MappedRegion(data, reserve, writable);
}

MappedRegion::MappedRegion(MappedRegion&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      writable_(std::exchange(other.writable_, false)) {}

MappedRegion& MappedRegion::operator=(MappedRegion&& other) noexcept {
  if (this != &other) {
    Unmap();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    writable_ = std::exchange(other.writable_, false);
  }
  return *this;
}

MappedRegion::~MappedRegion() { Unmap(); }

void MappedRegion::Unmap() {
  if (data_ != nullptr) {
    // munmap() of a range we mapped cannot fail; errno is preserved for
    // callers that destroy a mapping between a failed call and its errno.
    const int saved_errno = errno;
    munmap(data_, size_);
    errno = saved_errno;
    data_ = nullptr;
    size_ = 0;
  }
}

}  // namespace sysv::backend
