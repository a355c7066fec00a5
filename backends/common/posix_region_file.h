// Region files over POSIX calls alone: one file per IPC object in the
// daemon's private state directory (DESIGN.md, decision 2), and their shared
// mappings. For backends whose OS offers nothing better than POSIX here; the
// DragonFly backend uses it as is (backends/dragonfly/region_file.h).
//
// The same contract as backends/linux/region_file.h, minus ReopenReadOnly(fd),
// which needs Linux's /proc/self/fd: POSIX has no way to open a file
// description afresh from a descriptor alone (on the BSDs, /dev/fd/N dup()s
// the descriptor, keeping its write access: DragonFly's
// sys/kern/kern_descrip.c:dupfdopen()). ReopenReadOnlyAt() opens the name
// instead, and checks that it is still the same file.
//
// Every function takes a directory fd rather than a path, so the state
// directory is resolved once and a renamed or replaced path cannot redirect
// it; names are single path components and symlinks are never followed.
#ifndef SYSV_BACKENDS_COMMON_POSIX_REGION_FILE_H_
#define SYSV_BACKENDS_COMMON_POSIX_REGION_FILE_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backends/common/unique_fd.h"

namespace sysv::backend {

// Creates the region file `name` in `dir_fd`, `size` bytes long (a sparse
// file of zeros, as shmget(2) promises), with exactly `mode` whatever the
// umask, and returns it open read-write, close-on-exec. Space is not
// reserved: touching a page later may raise SIGBUS on a full filesystem, as
// the kernel's own shmem may fail at fault time. Results:
//   the descriptor;
//   EEXIST        a file of that name exists (never reused or truncated);
//   EINVAL        `name` is empty, ".", "..", or contains '/' or NUL;
//   EFBIG         `size` exceeds what the filesystem (or off_t) allows;
//   ENOSPC        no room for the inode;
//   EACCES, ENOENT, EMFILE, ... from openat.
// On a failure after the file was created, it is unlinked again.
absl::StatusOr<UniqueFd> CreateRegionFile(int dir_fd, absl::string_view name,
                                          uint64_t size, mode_t mode = 0600);

// Opens an existing region file, read-write or read-only, close-on-exec,
// never following a symlink. Results: the descriptor; ENOENT; ELOOP (the
// name is a symlink; some systems say EMLINK or EFTYPE, which are passed
// on); EINVAL (bad name); EACCES.
absl::StatusOr<UniqueFd> OpenRegionFile(int dir_fd, absl::string_view name,
                                        bool writable);

// Removes the name; mappings and descriptors keep the data alive until they
// go (as IPC_RMID on an attached segment). Results: OK; ENOENT; EINVAL (bad
// name); EACCES.
absl::Status UnlinkRegionFile(int dir_fd, absl::string_view name);

// A new, read-only open file description of the file `fd` is open on,
// reached through its name in `dir_fd`. Unlike a dup(), it cannot be
// mmap()ed with PROT_WRITE in MAP_SHARED (EACCES), nor written, nor
// ftruncate()d: what a reader of a read-only segment receives. Results:
//   the descriptor;
//   ENOENT   the name is gone (unlinked): open read-only descriptors while
//            the name exists (the daemon does so when it creates or opens
//            the object);
//   ESTALE   the name now names another file than `fd`;
//   EBADF    `fd` is not open; EINVAL (bad name); EACCES; ELOOP.
absl::StatusOr<UniqueFd> ReopenReadOnlyAt(int dir_fd, absl::string_view name,
                                          int fd);

// The file's size in bytes (fstat). Results: the size; EBADF.
absl::StatusOr<uint64_t> FileSize(int fd);

// Makes the file at least `size` bytes long (a sparse extension; never
// shrinks it). Results: OK; EFBIG; EINVAL; EBADF; EACCES (not open for
// writing).
absl::Status GrowRegionFile(int fd, uint64_t size);

// A MAP_SHARED mapping of a whole file (offset 0, `size` bytes), unmapped on
// destruction. Move-only.
class MappedRegion {
 public:
  // Maps `size` bytes of `fd`, PROT_READ | PROT_WRITE if `writable`, else
  // PROT_READ. The file must be at least `size` bytes now. Results:
  //   the mapping;
  //   EINVAL   size is 0, or the file is shorter than `size`;
  //   EACCES   `writable` but `fd` is not open read-write;
  //   ENOMEM, ENODEV (fd cannot be mapped), EBADF.
  static absl::StatusOr<MappedRegion> Map(int fd, size_t size, bool writable);

  // Maps `reserve` bytes of `fd` whatever the file's size now, for a file
  // that grows under its mappings (a message queue whose msg_qbytes is
  // raised). Pages past the file's end raise SIGBUS until it grows: the
  // caller touches only what it checked the file holds. Results as Map's,
  // without its size check.
  static absl::StatusOr<MappedRegion> MapGrowable(int fd, size_t reserve, bool writable);

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

}  // namespace sysv::backend

#endif  // SYSV_BACKENDS_COMMON_POSIX_REGION_FILE_H_
