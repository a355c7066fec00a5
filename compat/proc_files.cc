// open() and fopen() of the kernel's System V IPC files, served from
// libsysv's namespace (preload build only).
//
// util-linux's ipcs reads /proc/sysvipc/* and /proc/sys/kernel/{shmmax, ...}
// rather than calling *ctl, and so do LTP's procfs checks and
// administrators' scripts: without this a program on libsysv would list the
// kernel's objects and limits, not its own. A read-only open of one of the
// files compat/proc_content.h names gives a sealed, read-only anonymous
// memory file holding the text the kernel would print for the namespace,
// built at open as the kernel builds it at read: reads, seeks and fstat
// work as on any file (st_size is the length, where /proc says 0).
//
// Not served (they reach the kernel, or fail, unchanged): paths spelled
// another way ("/proc//sysvipc/shm", relative to a directory descriptor,
// through a symbolic link), stat()/access() of the files (they exist on
// Linux anyway). Writes to the sysctls are refused with EACCES, as the
// kernel refuses a non-root user, rather than changing the kernel's limits
// behind the namespace's back: the namespace's limits are set by the
// daemon's configuration.
//
// Every other open costs one comparison of its path's first bytes before
// the jump to the next definition (the C library's, or another preload
// library's); its arguments, O_CLOEXEC and errno pass unchanged. glibc's
// fopen() does not go through the interposable open(), so fopen and
// fopen64 are wrapped too, as are the fortified __open_2 and __openat_2.
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "compat/proc_content.h"

namespace {

using OpenFn = int (*)(const char*, int, ...);
using OpenatFn = int (*)(int, const char*, int, ...);
using Open2Fn = int (*)(const char*, int);
using Openat2Fn = int (*)(int, const char*, int);
using FopenFn = FILE* (*)(const char*, const char*);

// The next definition of `kName` (the C library's, or another preload
// library's), looked up once. The constructor below looks them all up
// before main: dlsym takes the dynamic linker's lock, which libsysv must
// not wait for on a first open() made while it holds its runtime lock.
template <typename Fn, const char* kName>
Fn Next() {
  static const Fn next = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, kName));
  return next;
}

constexpr char kOpen[] = "open";
constexpr char kOpen64[] = "open64";
constexpr char kOpenat[] = "openat";
constexpr char kOpenat64[] = "openat64";
constexpr char kOpen2[] = "__open_2";
constexpr char kOpenat2[] = "__openat_2";
constexpr char kFopen[] = "fopen";
constexpr char kFopen64[] = "fopen64";

__attribute__((constructor)) void LookUpNextDefinitions() {
  Next<OpenFn, kOpen>();
  Next<OpenFn, kOpen64>();
  Next<OpenatFn, kOpenat>();
  Next<OpenatFn, kOpenat64>();
  Next<Open2Fn, kOpen2>();
  Next<Openat2Fn, kOpenat2>();
  Next<FopenFn, kFopen>();
  Next<FopenFn, kFopen64>();
}

// The one test every open pays: all served paths start "/proc/s".
inline bool MaybeServed(const char* path) {
  return path != nullptr && path[0] == '/' && path[1] == 'p' && path[2] == 'r' && path[3] == 'o' &&
         path[4] == 'c' && path[5] == '/' && path[6] == 's';
}

// glibc's __OPEN_NEEDS_MODE: the third argument exists only then.
inline bool NeedsMode(int flags) { return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE; }

// The served text as a read-only descriptor: a memory file sealed against
// change, reopened read-only (a memfd is created read-write) through
// /proc/self/fd with the caller's O_CLOEXEC and O_NONBLOCK.
int SealedTextFile(const std::string& content, int flags) {
  const int memfd = memfd_create("sysvipc-proc", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (memfd < 0) return -1;
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = write(memfd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int saved = errno;
      close(memfd);
      errno = n < 0 ? saved : EIO;
      return -1;
    }
    written += static_cast<size_t>(n);
  }
  if (fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    const int saved = errno;
    close(memfd);
    errno = saved;
    return -1;
  }
  char self_path[48];
  std::snprintf(self_path, sizeof(self_path), "/proc/self/fd/%d", memfd);
  // The system call itself: this open must not come back through the
  // interposers here or another library's.
  const int fd = static_cast<int>(
      syscall(SYS_openat, AT_FDCWD, self_path, O_RDONLY | (flags & (O_CLOEXEC | O_NONBLOCK))));
  const int saved = errno;
  close(memfd);
  errno = saved;
  return fd;
}

// Opens `file` for `flags`; -1 with errno as the kernel's file would give
// (in the kernel's order: the name, the file type, then the permission).
int OpenServed(sysv::compat::ProcFile file, int flags) {
  if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
    errno = EEXIST;
    return -1;
  }
  if ((flags & O_DIRECTORY) != 0) {
    errno = ENOTDIR;
    return -1;
  }
  if ((flags & O_ACCMODE) != O_RDONLY) {
    errno = EACCES;
    return -1;
  }
  const int saved = errno;
  std::string content;
  if (!sysv::compat::ProcFileContent(file, &content)) return -1;
  const int fd = SealedTextFile(content, flags);
  if (fd >= 0) errno = saved;
  return fd;
}

// The file to serve for an open of `path` with `flags`, or kNone to let it
// through: O_PATH descriptors and writes to /proc/sysvipc (which the kernel
// refuses by itself) are the kernel's.
sysv::compat::ProcFile Served(const char* path, int flags) {
  if (!MaybeServed(path) || (flags & O_PATH) != 0) return sysv::compat::ProcFile::kNone;
  const sysv::compat::ProcFile file = sysv::compat::ProcFileOf(path);
  if (sysv::compat::IsSysvipcListing(file) && (flags & O_ACCMODE) != O_RDONLY) return sysv::compat::ProcFile::kNone;
  return file;
}

// fopen's mode as open flags (glibc's: r, w, a, '+', 'e' for O_CLOEXEC).
int FopenFlags(const char* mode) {
  int flags = O_RDONLY;
  if (mode[0] == 'w' || mode[0] == 'a') flags = O_WRONLY;
  if (std::strchr(mode, '+') != nullptr) flags = O_RDWR;
  if (std::strchr(mode, 'e') != nullptr) flags |= O_CLOEXEC;
  return flags;
}

FILE* FopenServed(sysv::compat::ProcFile file, const char* mode) {
  const int fd = OpenServed(file, FopenFlags(mode));
  if (fd < 0) return nullptr;
  FILE* stream = fdopen(fd, mode);
  if (stream == nullptr) {
    const int saved = errno;
    close(fd);
    errno = saved;
  }
  return stream;
}

// Serves `path` if it is one of the files, else returns pass_through().
template <typename PassThrough>
inline auto ServeOr(const char* path, int flags, PassThrough pass_through) {
  const sysv::compat::ProcFile file = Served(path, flags);
  if (file != sysv::compat::ProcFile::kNone) return OpenServed(file, flags);
  return pass_through();
}

template <typename PassThrough>
inline FILE* FopenServeOr(const char* path, const char* mode, PassThrough pass_through) {
  if (!MaybeServed(path)) return pass_through();  // before reading the mode: other opens pay one test
  const sysv::compat::ProcFile file = Served(path, FopenFlags(mode));
  if (file != sysv::compat::ProcFile::kNone) return FopenServed(file, mode);
  return pass_through();
}

}  // namespace

#define SYSV_EXPORT extern "C" __attribute__((visibility("default")))

// The optional third argument of the open family, read only when it exists.
#define SYSV_OPEN_MODE(last_fixed, flags)      \
  mode_t mode = 0;                             \
  if (NeedsMode(flags)) {                      \
    va_list args;                              \
    va_start(args, last_fixed);                \
    mode = va_arg(args, mode_t);               \
    va_end(args);                              \
  }

SYSV_EXPORT int open(const char* path, int flags, ...) {
  const OpenFn next = Next<OpenFn, kOpen>();
  SYSV_OPEN_MODE(flags, flags);
  return ServeOr(path, flags, [&] { return next(path, flags, mode); });
}

SYSV_EXPORT int open64(const char* path, int flags, ...) {
  const OpenFn next = Next<OpenFn, kOpen64>();
  SYSV_OPEN_MODE(flags, flags);
  return ServeOr(path, flags, [&] { return next(path, flags, mode); });
}

// An absolute path ignores dir_fd; a relative one is never served.
SYSV_EXPORT int openat(int dir_fd, const char* path, int flags, ...) {
  const OpenatFn next = Next<OpenatFn, kOpenat>();
  SYSV_OPEN_MODE(flags, flags);
  return ServeOr(path, flags, [&] { return next(dir_fd, path, flags, mode); });
}

SYSV_EXPORT int openat64(int dir_fd, const char* path, int flags, ...) {
  const OpenatFn next = Next<OpenatFn, kOpenat64>();
  SYSV_OPEN_MODE(flags, flags);
  return ServeOr(path, flags, [&] { return next(dir_fd, path, flags, mode); });
}

SYSV_EXPORT int __open_2(const char* path, int flags) {
  const Open2Fn next = Next<Open2Fn, kOpen2>();
  return ServeOr(path, flags, [&] { return next(path, flags); });
}

SYSV_EXPORT int __openat_2(int dir_fd, const char* path, int flags) {
  const Openat2Fn next = Next<Openat2Fn, kOpenat2>();
  return ServeOr(path, flags, [&] { return next(dir_fd, path, flags); });
}

SYSV_EXPORT FILE* fopen(const char* path, const char* mode) {
  const FopenFn next = Next<FopenFn, kFopen>();
  return FopenServeOr(path, mode, [&] { return next(path, mode); });
}

SYSV_EXPORT FILE* fopen64(const char* path, const char* mode) {
  const FopenFn next = Next<FopenFn, kFopen64>();
  return FopenServeOr(path, mode, [&] { return next(path, mode); });
}
