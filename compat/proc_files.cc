// open() and fopen() of the kernel's System V IPC files, served from
// libsysv's namespace (preload build only).
//
// Programs read the kernel's System V IPC files (the C library's ABI names
// them: backends/ipc_abi.h, KernelFileOf) rather than calling *ctl: without
// this a program on libsysv would list the kernel's objects and limits, not
// its own. A read-only open of one gives an unnamed read-only file that can
// never change (platform::OpenContentFile) holding the text the kernel
// would print for the namespace, built at open as the kernel builds it at
// read: reads, seeks and fstat work as on any file (st_size is the length,
// where the kernel's file says 0).
//
// Not served (they reach the kernel, or fail, unchanged): paths spelled
// another way (a doubled slash, relative to a directory descriptor, through
// a symbolic link), stat()/access() of the files (they exist anyway).
//
// Writes to the sysctls set the namespace's limits and next ids, never the
// kernel's. An open for writing asks the daemon, which judges the caller's
// credentials as the kernel's open() would (EACCES), and gives a descriptor
// of an unnamed file holding the content (so read and fstat work
// on O_RDWR). Each write(2) to that descriptor at offset 0 is sent to the
// daemon, which parses and applies it as the kernel's handler does and
// returns its result (bytes taken, EINVAL, ERANGE); a write at a later
// offset is ignored, as the kernel ignores it (sysctl_writes_strict). The
// descriptor's offset is the memory file's own. fopen() for writing gives a
// stream over the same descriptor (fopencookie(): glibc's stdio writes with
// its internal write, which no interposer sees). Not seen: writes through
// a dup() of the descriptor, pwrite(), writev(), and a descriptor that
// survives exec (they go to the unnamed file and change nothing).
//
// write() and close() are wrapped for this: while no such descriptor is
// open, each costs one relaxed load of a counter before the jump to the
// next definition. A tracked descriptor number whose file was replaced
// behind our back (dup2, close_range) is recognised by its inode and
// forgotten.
//
// Every other open costs one comparison of its path's first bytes before
// the jump to the next definition (the C library's, or another preload
// library's); its arguments, O_CLOEXEC and errno pass unchanged. glibc's
// fopen() does not go through the interposable open(), so fopen and
// fopen64 are wrapped too, as are the fortified __open_2 and __openat_2.
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "backends/ipc_abi.h"
#include "backends/platform.h"
#include "compat/proc_content.h"
#include "core/ipc/errno_status.h"

namespace {

using OpenFn = int (*)(const char*, int, ...);
using OpenatFn = int (*)(int, const char*, int, ...);
using Open2Fn = int (*)(const char*, int);
using Openat2Fn = int (*)(int, const char*, int);
using FopenFn = FILE* (*)(const char*, const char*);
using WriteFn = ssize_t (*)(int, const void*, size_t);
using CloseFn = int (*)(int);

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
constexpr char kWrite[] = "write";
constexpr char kClose[] = "close";

__attribute__((constructor)) void LookUpNextDefinitions() {
  Next<OpenFn, kOpen>();
  Next<OpenFn, kOpen64>();
  Next<OpenatFn, kOpenat>();
  Next<OpenatFn, kOpenat64>();
  Next<Open2Fn, kOpen2>();
  Next<Openat2Fn, kOpenat2>();
  Next<FopenFn, kFopen>();
  Next<FopenFn, kFopen64>();
  Next<WriteFn, kWrite>();
  Next<CloseFn, kClose>();
}

// The one test every open pays (a comparison of the path's first bytes).
inline bool MaybeServed(const char* path) { return sysv::abi::MaybeKernelFile(path); }

// glibc's __OPEN_NEEDS_MODE: the third argument exists only then.
inline bool NeedsMode(int flags) { return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE; }

// The served text as a descriptor with the caller's access mode,
// O_CLOEXEC and O_NONBLOCK; -1 with errno.
int TextFile(const std::string& content, int flags) {
  absl::StatusOr<sysv::backend::UniqueFd> fd = sysv::platform::OpenContentFile(content, flags);
  if (!fd.ok()) {
    errno = sysv::core::ErrnoOf(fd.status());
    return -1;
  }
  return fd->release();
}

// The sysctl files open for writing (see the file comment), known by
// inode, so that a dup() of a descriptor writes too: a shell's
// `echo 5 > /proc/sys/kernel/shmmax` opens the file, dup2()s it onto its
// standard output and closes the original before echo writes. Each entry
// holds a descriptor of its own to the unnamed file (close-on-exec), so the
// inode cannot be reused while it is known. An entry goes when a close()
// leaves no descriptor of the process on its file, or when a scan finds
// none (every kMissesPerScan writes to other files: a descriptor replaced
// by dup2() is never closed). Few are open at once; a full table refuses
// the open with EMFILE.
class WritableSysctls {
 public:
  static WritableSysctls& Get() {
    static WritableSysctls* const instance = new WritableSysctls();  // never destroyed: used until exit
    return *instance;
  }
  // The fast test of every write() and close().
  static bool AnyOpen() { return open_.load(std::memory_order_relaxed) != 0; }

  bool Add(int fd, sysv::compat::ProcFile file) {
    struct stat st;
    if (sysv::platform::RawFstat(fd, &st) != 0) return false;
    const int own = sysv::platform::RawDupCloexec(fd);
    if (own < 0) return false;
    std::lock_guard<std::mutex> lock(mu_);
    for (Entry& entry : entries_) {
      if (entry.file != sysv::compat::ProcFile::kNone) continue;
      entry = Entry{own, st.st_dev, st.st_ino, file};
      open_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    sysv::platform::RawClose(own);
    errno = EMFILE;
    return false;
  }

  // The file `fd` writes to, or kNone.
  sysv::compat::ProcFile Find(int fd) {
    struct stat st;
    const bool known = sysv::platform::RawFstat(fd, &st) == 0;
    std::lock_guard<std::mutex> lock(mu_);
    if (known) {
      if (Entry* entry = EntryOf(st)) return entry->file;
    }
    if (++misses_ % kMissesPerScan == 0) PruneLocked();
    return sysv::compat::ProcFile::kNone;
  }

  // Before close(fd): whether `fd` is one of ours (then call Closed()).
  bool Tracked(int fd) {
    struct stat st;
    if (sysv::platform::RawFstat(fd, &st) != 0) return false;
    std::lock_guard<std::mutex> lock(mu_);
    return EntryOf(st) != nullptr;
  }
  // After the close of a tracked descriptor.
  void Closed() {
    std::lock_guard<std::mutex> lock(mu_);
    PruneLocked();
  }

 private:
  static constexpr uint64_t kMissesPerScan = 256;

  struct Entry {
    int own_fd = -1;
    dev_t dev = 0;
    ino_t ino = 0;
    sysv::compat::ProcFile file = sysv::compat::ProcFile::kNone;
  };

  Entry* EntryOf(const struct stat& st) {
    for (Entry& entry : entries_) {
      if (entry.file != sysv::compat::ProcFile::kNone && entry.dev == st.st_dev && entry.ino == st.st_ino) {
        return &entry;
      }
    }
    return nullptr;
  }

  // Forgets the entries no descriptor of the process but our own names
  // (system calls only: this runs inside close()).
  void PruneLocked() {
    bool alive[std::size(entries_)] = {};
    const bool whole = sysv::platform::ForEachOpenDescriptor([&](int fd) {
      if (IsOwn(fd)) return;
      struct stat st;
      if (sysv::platform::RawFstat(fd, &st) != 0) return;
      if (Entry* entry = EntryOf(st)) alive[entry - entries_] = true;
    });
    if (!whole) return;  // unsure: keep them all
    for (size_t i = 0; i < std::size(entries_); ++i) {
      if (entries_[i].file == sysv::compat::ProcFile::kNone || alive[i]) continue;
      sysv::platform::RawClose(entries_[i].own_fd);
      entries_[i] = Entry{};
      open_.fetch_sub(1, std::memory_order_relaxed);
    }
  }

  bool IsOwn(int fd) const {
    for (const Entry& entry : entries_) {
      if (entry.file != sysv::compat::ProcFile::kNone && entry.own_fd == fd) return true;
    }
    return false;
  }

  static inline std::atomic<int> open_{0};
  std::mutex mu_;
  uint64_t misses_ = 0;
  Entry entries_[16];
};

// write(2) of `size` bytes to a tracked sysctl descriptor `fd`: at offset
// 0 the daemon applies it and the offset moves by what it took; at any
// other offset it is ignored and "written" whole, as the kernel does.
ssize_t WriteServed(int fd, sysv::compat::ProcFile file, const void* data, size_t size) {
  const off_t offset = sysv::platform::RawLseek(fd, 0, SEEK_CUR);
  if (offset < 0) return -1;
  long taken = static_cast<long>(size);
  if (offset == 0) {
    const int saved = errno;
    taken = sysv::compat::WriteSysctl(file, data, size);
    if (taken < 0) return -1;
    errno = saved;
  }
  (void)sysv::platform::RawLseek(fd, taken, SEEK_CUR);
  return taken;
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
  const int saved = errno;
  std::string content;
  if ((flags & O_ACCMODE) == O_RDONLY) {
    if (!sysv::compat::ProcFileContent(file, &content)) return -1;
    const int fd = TextFile(content, flags);
    if (fd >= 0) errno = saved;
    return fd;
  }
  // Served() lets only the sysctls through for writing.
  if (!sysv::compat::OpenSysctlForWrite(file, &content)) return -1;
  const int fd = TextFile(content, flags);
  if (fd < 0) return -1;
  if (!WritableSysctls::Get().Add(fd, file)) {
    const int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  errno = saved;
  return fd;
}

// The file to serve for an open of `path` with `flags`, or kNone to let it
// through: O_PATH descriptors and writes to the object listings (which the
// kernel refuses by itself) are the kernel's.
sysv::compat::ProcFile Served(const char* path, int flags) {
  if (!MaybeServed(path) || (flags & O_PATH) != 0) return sysv::compat::ProcFile::kNone;
  const sysv::compat::ProcFile file = sysv::abi::KernelFileOf(path);
  if (sysv::abi::IsListing(file) && (flags & O_ACCMODE) != O_RDONLY) return sysv::compat::ProcFile::kNone;
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

// A stream over a writable sysctl descriptor (fopen() for writing).
ssize_t CookieRead(void* cookie, char* buffer, size_t size) {
  return sysv::platform::RawRead(static_cast<int>(reinterpret_cast<intptr_t>(cookie)), buffer, size);
}
ssize_t CookieWrite(void* cookie, const char* data, size_t size) {
  const int fd = static_cast<int>(reinterpret_cast<intptr_t>(cookie));
  const sysv::compat::ProcFile file = WritableSysctls::Get().Find(fd);
  if (file == sysv::compat::ProcFile::kNone) {
    errno = EBADF;
    return -1;
  }
  const ssize_t taken = WriteServed(fd, file, data, size);
  // A file stream writes the rest again, at an offset the kernel ignores:
  // the whole buffer is then written, as far as the stream can tell.
  if (taken < 0 || static_cast<size_t>(taken) == size) return taken;
  (void)sysv::platform::RawLseek(fd, static_cast<off_t>(size - static_cast<size_t>(taken)), SEEK_CUR);
  return static_cast<ssize_t>(size);
}
int CookieSeek(void* cookie, off64_t* offset, int whence) {
  const off_t at = sysv::platform::RawLseek(static_cast<int>(reinterpret_cast<intptr_t>(cookie)), *offset, whence);
  if (at < 0) return -1;
  *offset = at;
  return 0;
}
int CookieClose(void* cookie) { return close(static_cast<int>(reinterpret_cast<intptr_t>(cookie))); }

FILE* FopenServed(sysv::compat::ProcFile file, const char* mode) {
  const int fd = OpenServed(file, FopenFlags(mode));
  if (fd < 0) return nullptr;
  if ((FopenFlags(mode) & O_ACCMODE) != O_RDONLY) {
    const cookie_io_functions_t functions = {CookieRead, CookieWrite, CookieSeek, CookieClose};
    FILE* stream = fopencookie(reinterpret_cast<void*>(static_cast<intptr_t>(fd)), mode, functions);
    if (stream == nullptr) {
      const int saved = errno;
      close(fd);
      errno = saved;
    }
    return stream;
  }
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

SYSV_EXPORT ssize_t write(int fd, const void* data, size_t size) {
  const WriteFn next = Next<WriteFn, kWrite>();
  if (__builtin_expect(WritableSysctls::AnyOpen(), 0)) {
    const sysv::compat::ProcFile file = WritableSysctls::Get().Find(fd);
    if (file != sysv::compat::ProcFile::kNone) return WriteServed(fd, file, data, size);
  }
  return next(fd, data, size);
}

SYSV_EXPORT int close(int fd) {
  const CloseFn next = Next<CloseFn, kClose>();
  if (__builtin_expect(WritableSysctls::AnyOpen(), 0) && WritableSysctls::Get().Tracked(fd)) {
    const int result = next(fd);
    const int saved = errno;
    WritableSysctls::Get().Closed();
    errno = saved;
    return result;
  }
  return next(fd);
}
