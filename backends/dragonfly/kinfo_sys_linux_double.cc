// kinfo_sys.h on Linux, for tests: builds a record in DragonFly's
// kinfo_proc layout (dragonfly_abi.h) from /proc/<pid>/stat, so that the
// portable decoding in process_watch.cc runs against real processes.
// testonly; never linked into a product.
//
// Mapping: Linux state Z or X (exited) -> no record, as DragonFly's pfind()
// skips zombies; T or t -> SSTOP; anything else -> SACTIVE. kp_start is the
// Linux start time (clock ticks after boot) turned into seconds and
// microseconds after boot, where DragonFly has the wall-clock time of the
// fork; both identify a process for ever, which is all that is asked of it.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "backends/dragonfly/dragonfly_abi.h"
#include "backends/dragonfly/kinfo_sys.h"

namespace sysv::dragonfly_backend {
namespace {

int Fail(int errnum) {
  errno = errnum;
  return -1;
}

template <typename T>
void Put(unsigned char* record, size_t offset, T value) {
  std::memcpy(record + offset, &value, sizeof(value));
}

}  // namespace

size_t KinfoProcSize() { return abi::kKinfoProcMinSize; }

int ReadKinfoProc(pid_t pid, void* buffer, size_t* length) {
  if (pid < 0) return Fail(EINVAL);
  if (*length < KinfoProcSize()) return Fail(ENOMEM);
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *length = 0;  // no such process
    return 0;
  }
  char text[1024];
  const ssize_t got = read(fd, text, sizeof(text) - 1);
  close(fd);
  if (got <= 0) {
    *length = 0;  // it went away between open() and read()
    return 0;
  }
  text[got] = '\0';
  // Fields after the last ')' (the command name may contain one): state is
  // field 3, starttime field 22 (proc(5)).
  const char* cursor = std::strrchr(text, ')');
  if (cursor == nullptr) return Fail(EIO);
  cursor += 2;
  const char state = *cursor;
  if (state == 'Z' || state == 'X' || state == 'x') {
    *length = 0;
    return 0;
  }
  for (int field = 3; field < 22; ++field) {
    cursor = std::strchr(cursor, ' ');
    if (cursor == nullptr) return Fail(EIO);
    ++cursor;
  }
  const uint64_t ticks = std::strtoull(cursor, nullptr, 10);
  const uint64_t hz = static_cast<uint64_t>(sysconf(_SC_CLK_TCK));

  auto* record = static_cast<unsigned char*>(buffer);
  std::memset(record, 0, KinfoProcSize());
  Put<int32_t>(record, abi::kKpStatOffset,
               state == 'T' || state == 't' ? abi::kSstop : abi::kSactive);
  Put<int64_t>(record, abi::kKpStartSecOffset, static_cast<int64_t>(ticks / hz));
  Put<int64_t>(record, abi::kKpStartUsecOffset,
               static_cast<int64_t>((ticks % hz) * (1'000'000 / hz)));
  Put<int32_t>(record, abi::kKpPidOffset, static_cast<int32_t>(pid));
  *length = KinfoProcSize();
  return 0;
}

}  // namespace sysv::dragonfly_backend
