#include "tests/security/resize_attacks.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

namespace sysv::testing {

namespace {
bool SizeIs(int fd, off_t size) {
  struct stat st {};
  return fstat(fd, &st) == 0 && st.st_size == size;
}
}  // namespace

int CutInALoop(int fd, off_t size, std::chrono::steady_clock::duration how_long) {
  int cuts = 0;
  const auto until = std::chrono::steady_clock::now() + how_long;
  while (std::chrono::steady_clock::now() < until) {
    if (ftruncate(fd, 0) == 0) ++cuts;
    if (ftruncate(fd, size) != 0) continue;  // refused: nothing to put back
  }
  if (!SizeIs(fd, size)) return 4;
  return cuts == 0 ? 0 : 3;
}

int TryToGrow(int fd, off_t size) {
  if (ftruncate(fd, off_t{1} << 30) == 0) return 3;
  if (fallocate(fd, 0, 0, off_t{64} << 20) == 0) return 4;
  const char byte = 'x';
  if (pwrite(fd, &byte, 1, off_t{512} << 20) == 1) return 5;
  return SizeIs(fd, size) ? 0 : 6;
}

bool SettlesTo(int fd, off_t size, off_t block_bytes) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (;;) {
    struct stat st {};
    if (fstat(fd, &st) != 0) return false;
    if (st.st_size == size && st.st_blocks * 512 <= block_bytes) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace sysv::testing
