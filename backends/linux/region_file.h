// Region files: one file per IPC object in the daemon's private state
// directory (DESIGN.md, decision 2), and their shared mappings.
//
// Every function takes a directory fd rather than a path, so the state
// directory is resolved once and a renamed or replaced path cannot redirect
// it; names are single path components and symlinks are never followed.
// Clients never open region files by name: they receive descriptors, made
// read-only by ReopenReadOnly() when the permission check grants only read.
#ifndef SYSV_BACKENDS_LINUX_REGION_FILE_H_
#define SYSV_BACKENDS_LINUX_REGION_FILE_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backends/common/unique_fd.h"

namespace sysv::linux_backend {

// Creates the region file `name` in `dir_fd`, `size` bytes long (a sparse
// file of zeros, as shmget(2) promises), readable and writable by the owner
// only by default, and returns it open read-write, close-on-exec. The mode is
// set exactly, whatever the umask. Space is not reserved: on a full
// filesystem ftruncate() still succeeds and a later first touch of a page
// raises SIGBUS, as the kernel's own shmem may fail at fault time. Results:
//   the descriptor;
//   EEXIST        a file of that name exists (never reused or truncated);
//   EINVAL        `name` is empty, ".", "..", or contains '/' or NUL;
//   EFBIG         `size` exceeds what the filesystem (or off_t) allows;
//   ENOSPC        no room for the inode;
//   EACCES, ENOENT, EMFILE, ... from openat.
// On a failure after the file was created, it is unlinked again.
absl::StatusOr<sysv::backend::UniqueFd> CreateRegionFile(int dir_fd,
                                                        absl::string_view name,
                                                        uint64_t size,
                                                        mode_t mode = 0600);

// Opens an existing region file, read-write or read-only, close-on-exec,
// never following a symlink. Results: the descriptor; ENOENT; ELOOP (the name
// is a symlink); EINVAL (bad name); EACCES.
absl::StatusOr<sysv::backend::UniqueFd> OpenRegionFile(int dir_fd,
                                                      absl::string_view name,
                                                      bool writable);

// Removes the name; mappings and descriptors keep the data alive until they
// go (as IPC_RMID on an attached segment). Results: OK; ENOENT; EINVAL (bad
// name); EACCES.
absl::Status UnlinkRegionFile(int dir_fd, absl::string_view name);

// A new, read-only open file description of the same file as `fd` (through
// /proc/self/fd/<fd>, which also works after the name was unlinked). Unlike a
// dup(), it cannot be mmap()ed with PROT_WRITE in MAP_SHARED (EACCES), nor
// written, nor ftruncate()d: what a reader of a read-only segment receives.
// Results: the descriptor; EBADF; ENOENT if /proc is not mounted; EACCES.
absl::StatusOr<sysv::backend::UniqueFd> ReopenReadOnly(int fd);

// The file's size in bytes (fstat). Results: the size; EBADF.
absl::StatusOr<uint64_t> FileSize(int fd);

// A MAP_SHARED mapping of a whole file (offset 0, `size` bytes), unmapped on
// destruction. Move-only.
class MappedRegion {
 public:
  // Maps `size` bytes of `fd`, PROT_READ | PROT_WRITE if `writable`, else
  // PROT_READ. The file must be at least `size` bytes now (touching a page
  // past the end of a file raises SIGBUS). Any process holding a writable
  // descriptor can still shrink the file later, and then touching the lost
  // pages raises SIGBUS in every process that maps it. Results:
  //   the mapping;
  //   EINVAL   size is 0, or the file is shorter than `size`;
  //   EACCES   `writable` but `fd` is not open read-write;
  //   ENOMEM, ENODEV (fd cannot be mapped), EBADF.
  static absl::StatusOr<MappedRegion> Map(int fd, size_t size, bool writable);

  MappedRegion() = default;
  MappedRegion(MappedRegion&& other) noexcept;
  MappedRegion& operator=(MappedRegion&& other) noexcept;
  MappedRegion(const MappedRegion&) = delete;
  MappedRegion& operator=(const MappedRegion&) = delete;
  ~MappedRegion();

  // The first byte of the mapping (nullptr if empty), its length, and
  // whether it may be written.
  void* data() const { return data_; }
  size_t size() const { return size_; }
  bool writable() const { return writable_; }

 private:
  MappedRegion(void* data, size_t size, bool writable)
      : data_(data), size_(size), writable_(writable) {}
  void Unmap();

  void* data_ = nullptr;
  size_t size_ = 0;
  bool writable_ = false;
};

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_REGION_FILE_H_
