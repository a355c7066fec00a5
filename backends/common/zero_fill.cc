#include "backends/common/zero_fill.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace sysv::backend {

int ZeroFill(int fd, off_t size, off_t from) {
  static constexpr char kZeros[64 * 1024] = {};
  const int saved = errno;
  int result = 0;
  for (off_t at = from; at < size;) {
    const size_t chunk = static_cast<size_t>(std::min<off_t>(size - at, sizeof(kZeros)));
    const ssize_t n = pwrite(fd, kZeros, chunk, at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      result = n < 0 ? errno : ENOSPC;
      break;
    }
    at += n;
  }
  errno = saved;
  return result;
}

}  // namespace sysv::backend
