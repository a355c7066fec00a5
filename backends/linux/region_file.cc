#include "backends/linux/region_file.h"

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
#include "backends/common/unique_fd.h"
#include "core/ipc/errno_status.h"

namespace sysv::linux_backend {
namespace {

using ::sysv::backend::UniqueFd;
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
  // is for recovery to judge, not to be truncated here). O_NOFOLLOW is implied
  // for O_CREAT|O_EXCL, which fails on a symlink with EEXIST.
  UniqueFd fd(openat(dir_fd, path.c_str(),
                     O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd) return ErrnoStatus(errno, absl::StrCat("create region file ", path));
  // openat() applied the umask; set the mode exactly. Then size the file.
  if (fchmod(fd.get(), mode) != 0 ||
      ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
    const int errnum = errno;  // ENOSPC, EFBIG (too large for this fs), ...
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

absl::StatusOr<UniqueFd> ReopenReadOnly(int fd) {
  // dup() or F_DUPFD would share the read-write open file description; only
  // a fresh open() gives a description whose access mode is read-only.
  // /proc/self/fd/N reaches the inode even after the name was unlinked.
  if (fd < 0) return ErrnoStatus(EBADF, "reopen read-only: bad fd");
  const std::string path = absl::StrCat("/proc/self/fd/", fd);
  UniqueFd reopened(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!reopened) {
    // A closed fd shows up as a missing /proc entry.
    const int errnum = (errno == ENOENT && fcntl(fd, F_GETFD) < 0) ? EBADF : errno;
    return ErrnoStatus(errnum, absl::StrCat("reopen ", path, " read-only"));
  }
  return reopened;
}

absl::StatusOr<uint64_t> FileSize(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return ErrnoStatus(errno, "fstat");
  return static_cast<uint64_t>(st.st_size);
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
  void* data = mmap(nullptr, size, writable ? PROT_READ | PROT_WRITE : PROT_READ,
                    MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) {
    return ErrnoStatus(errno, absl::StrCat("mmap ", size, " bytes"));
  }
  return MappedRegion(data, size, writable);
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

}  // namespace sysv::linux_backend
