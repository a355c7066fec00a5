#include "backends/linux/mapping_query.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "backends/common/raw_syscalls.h"
#include "core/ipc/errno_status.h"

namespace sysv::linux_backend {
namespace {

// <linux/fs.h> of Linux 6.11 (Debian's installed headers predate it): the
// layout is ABI, `size` lets the kernel tell versions apart.
struct ProcmapQuery {
  uint64_t size;
  uint64_t query_flags;
  uint64_t query_addr;
  uint64_t vma_start;
  uint64_t vma_end;
  uint64_t vma_flags;
  uint64_t vma_page_size;
  uint64_t vma_offset;
  uint64_t inode;
  uint32_t dev_major;
  uint32_t dev_minor;
  uint32_t vma_name_size;
  uint32_t build_id_size;
  uint64_t vma_name_addr;
  uint64_t build_id_addr;
};
static_assert(sizeof(ProcmapQuery) == 104, "struct procmap_query of Linux 6.11");

constexpr unsigned long kProcmapQuery = _IOWR('f', 17, ProcmapQuery);
constexpr uint64_t kVmaReadable = 0x01;
constexpr uint64_t kVmaWritable = 0x02;
constexpr uint64_t kVmaExecutable = 0x04;
constexpr uint64_t kVmaShared = 0x08;
constexpr uint64_t kCoveringOrNext = 0x10;

// What an ioctl the file does not know answers: an older kernel's
// /proc/self/maps has no ioctls at all.
bool MeansUnsupported(int err) { return err == ENOTTY || err == EINVAL || err == ENOSYS; }

}  // namespace

absl::StatusOr<FileIdentity> IdentifyFile(int fd) {
  struct stat st;
  if (backend::RawFstat(fd, &st) != 0) return core::ErrnoStatus(errno, "fstat");
  if (!S_ISREG(st.st_mode)) return core::ErrnoStatus(EINVAL, "not a regular file");
  return FileIdentity{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
}

MappingQuery::~MappingQuery() { Reset(); }

void MappingQuery::Reset() {
  if (fd_ >= 0) backend::RawClose(fd_);
  fd_ = -1;
}

int MappingQuery::Open() {
  // Raw: libsysv interposes open() for its own /proc files.
  fd_ = static_cast<int>(syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC));
  return fd_ >= 0 ? 0 : errno;
}

bool MappingQuery::Available() {
  if (support_ == Support::kUnknown) {
    // Any address: an answer or ENOENT means the kernel knows the ioctl.
    absl::StatusOr<MappingFacts> probe = Find(0, false);
    if (support_ == Support::kUnknown) support_ = probe.ok() || core::ErrnoOf(probe.status()) == ENOENT
                                                     ? Support::kYes
                                                     : Support::kNo;
  }
  return support_ == Support::kYes;
}

absl::StatusOr<MappingFacts> MappingQuery::Find(uint64_t addr, bool or_next) {
  if (support_ == Support::kNo) return core::ErrnoStatus(ENOSYS, "no PROCMAP_QUERY");
  // Twice at most: the program may have closed our descriptor (a loop
  // closing every descriptor), or put one of its own files in its place.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool fresh = fd_ < 0;
    if (fresh) {
      if (int err = Open(); err != 0) return core::ErrnoStatus(err, "open /proc/self/maps");
    }
    ProcmapQuery q;
    std::memset(&q, 0, sizeof(q));
    q.size = sizeof(q);
    q.query_addr = addr;
    q.query_flags = or_next ? kCoveringOrNext : 0;
    if (ioctl(fd_, kProcmapQuery, &q) == 0) {
      MappingFacts facts;
      facts.start = q.vma_start;
      facts.end = q.vma_end;
      facts.offset = q.vma_offset;
      facts.shared = (q.vma_flags & kVmaShared) != 0;
      facts.readable = (q.vma_flags & kVmaReadable) != 0;
      facts.writable = (q.vma_flags & kVmaWritable) != 0;
      facts.executable = (q.vma_flags & kVmaExecutable) != 0;
      if (q.inode != 0) facts.file = FileIdentity{makedev(q.dev_major, q.dev_minor), q.inode};
      return facts;
    }
    const int err = errno;
    if (err == ENOENT) return core::ErrnoStatus(ENOENT, "no mapping there");
    if (!MeansUnsupported(err) && err != EBADF) return core::ErrnoStatus(err, "PROCMAP_QUERY");
    if (fresh) {
      // Our own descriptor, just opened, refuses: the kernel cannot answer.
      Reset();
      if (MeansUnsupported(err)) support_ = Support::kNo;
      return core::ErrnoStatus(MeansUnsupported(err) ? ENOSYS : err, "no PROCMAP_QUERY");
    }
    // The number may be the program's file now: forget it, never close it.
    fd_ = -1;
  }
  return core::ErrnoStatus(EBADF, "PROCMAP_QUERY");
}

}  // namespace sysv::linux_backend
