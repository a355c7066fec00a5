// UniqueFd: sole ownership of one file descriptor.
#ifndef SYSV_BACKENDS_COMMON_UNIQUE_FD_H_
#define SYSV_BACKENDS_COMMON_UNIQUE_FD_H_

#include <unistd.h>

#include <cerrno>
#include <utility>

namespace sysv::backend {

// Closes the descriptor it holds when destroyed or reset. Move-only. -1 means
// "holds nothing".
//
// Closing preserves errno, because a UniqueFd often goes out of scope between
// a failed system call and the code that reads its errno. close() is not
// retried on EINTR: on Linux the descriptor is released even then, and a
// retry could close a number another thread has just been given.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  // The descriptor, or -1.
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }

  // Gives up ownership without closing; returns the descriptor (or -1).
  [[nodiscard]] int release() { return std::exchange(fd_, -1); }

  // Closes the held descriptor (if any) and takes `fd` instead. Preserves
  // errno.
  void reset(int fd = -1) {
    const int old = std::exchange(fd_, fd);
    if (old >= 0 && old != fd) {
      const int saved_errno = errno;
      ::close(old);
      errno = saved_errno;
    }
  }

 private:
  int fd_ = -1;
};

}  // namespace sysv::backend

#endif  // SYSV_BACKENDS_COMMON_UNIQUE_FD_H_
