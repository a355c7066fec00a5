// What the kernel says about one mapping of the calling process: the
// PROCMAP_QUERY ioctl on /proc/self/maps (Linux 6.11+), one system call
// that answers for one address without formatting the whole maps file.
// libsysv's parked segment mappings (compat/parked_mappings.h) use it to
// make sure a range is still exactly the mapping they left there before
// they touch it again: the program may have unmapped or replaced it since.
#ifndef SYSV_BACKENDS_LINUX_MAPPING_QUERY_H_
#define SYSV_BACKENDS_LINUX_MAPPING_QUERY_H_

#include <cstdint>

#include "absl/status/statusor.h"

namespace sysv::linux_backend {

// Which file a descriptor or a mapping refers to.
struct FileIdentity {
  uint64_t device = 0;
  uint64_t inode = 0;
  bool operator==(const FileIdentity&) const = default;
};

// The identity of the regular file open as `fd` (a memfd, a region file):
// the file its mappings name. Errors: fstat's (EBADF); EINVAL for any other
// kind, whose mappings may name another file (the security driver hands out
// anonymous-inode files whose mappings are backed by a shmem file and
// counted by the driver at each unmap, so they must never be parked).
absl::StatusOr<FileIdentity> IdentifyFile(int fd);

// One mapping (VMA) of the calling process as the kernel sees it now.
struct MappingFacts {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t offset = 0;  // into the file, in bytes
  bool shared = false;
  bool readable = false;
  bool writable = false;
  bool executable = false;
  FileIdentity file;  // {0, 0} for an anonymous mapping
};

// Asks about the calling process's own mappings. Not thread-safe (the
// caller serialises). The descriptor it keeps is the opening process's:
// a forked child must call Reset() before its first Find().
class MappingQuery {
 public:
  MappingQuery() = default;
  ~MappingQuery();
  MappingQuery(const MappingQuery&) = delete;
  MappingQuery& operator=(const MappingQuery&) = delete;

  // Whether this kernel answers (tried once, then remembered).
  bool Available();
  // The mapping covering `addr`; with `or_next`, else the first one above
  // it. Errors: ENOENT (none), ENOSYS (the kernel has no PROCMAP_QUERY),
  // the open's errno for /proc/self/maps.
  absl::StatusOr<MappingFacts> Find(uint64_t addr, bool or_next);
  // Forgets the descriptor (closing this process's copy): after fork, the
  // inherited one describes the parent's memory.
  void Reset();

 private:
  int Open();
  int fd_ = -1;
  enum class Support { kUnknown, kYes, kNo } support_ = Support::kUnknown;
};

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_MAPPING_QUERY_H_
