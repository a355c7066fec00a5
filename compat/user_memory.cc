#include "compat/user_memory.h"

#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sysv::compat {

bool CopyFromUser(void* dst, const void* user_src, size_t size) {
  if (size == 0) return true;
  const int saved = errno;
  struct iovec local = {dst, size};
  struct iovec remote = {const_cast<void*>(user_src), size};
  const ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
  const bool unavailable = n < 0 && (errno == ENOSYS || errno == EPERM);
  errno = saved;
  // A sandbox that forbids the call: copy directly (a bad pointer then
  // faults, as it would in most libraries).
  if (unavailable) std::memcpy(dst, user_src, size);
  return unavailable || n == static_cast<ssize_t>(size);
}

bool CopyToUser(void* user_dst, const void* src, size_t size) {
  if (size == 0) return true;
  const int saved = errno;
  struct iovec local = {const_cast<void*>(src), size};
  struct iovec remote = {user_dst, size};
  const ssize_t n = process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
  const bool unavailable = n < 0 && (errno == ENOSYS || errno == EPERM);
  errno = saved;
  if (unavailable) std::memcpy(user_dst, src, size);
  return unavailable || n == static_cast<ssize_t>(size);
}

}  // namespace sysv::compat
