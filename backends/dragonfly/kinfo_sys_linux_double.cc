// kinfo_sys.h on Linux, for tests: builds records in DragonFly's kinfo_proc
// layout (dragonfly_abi.h) from /proc/<pid>/stat and /proc/<pid>/task, so
// that the portable decoding in process_watch.cc and lock_owner_probe.cc
// runs against real processes and threads. testonly; never linked into a
// product.
//
// Mapping: kp_uid is the effective uid of /proc/<pid>/status, kp_ppid field
// 4 of stat. Linux state Z or X (exited) -> no record, as DragonFly's pfind()
// skips zombies; T or t -> SSTOP; anything else -> SACTIVE. kp_start is the
// Linux start time (clock ticks after boot) turned into seconds and
// microseconds after boot, where DragonFly has the wall-clock time of the
// fork; both identify a process for ever, which is all that is asked of it.
// LWPs are the tasks of /proc/<pid>/task that have not exited (a thread
// that exited before its process, even the first one, is gone at once, as
// lwp_exit() takes it out of the list); kl_tid is the Linux TID, which is
// not numbered per process as DragonFly's LWP ids are, but is as unique
// among the live threads of one process, nonzero and below 2^22.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "backends/dragonfly/dragonfly_abi.h"
#include "backends/dragonfly/kinfo_sys.h"
#include "backends/dragonfly/kinfo_sys_linux_double.h"

namespace sysv::dragonfly_backend {
namespace {

std::atomic<bool> jailed_for_testing{false};

int Fail(int errnum) {
  errno = errnum;
  return -1;
}

template <typename T>
void Put(unsigned char* record, size_t offset, T value) {
  std::memcpy(record + offset, &value, sizeof(value));
}

struct TaskStat {
  char state;
  uint64_t start_ticks;
  int32_t ppid;
};

// /proc/.../stat of a process or task: nullopt if it is not there (or went
// away while being read); state and start time otherwise.
std::optional<TaskStat> ReadTaskStat(const std::string& path, bool* garbled) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char text[1024];
  const ssize_t got = read(fd, text, sizeof(text) - 1);
  close(fd);
  if (got <= 0) return std::nullopt;
  text[got] = '\0';
  // Fields after the last ')' (the command name may contain one): state is
  // field 3, starttime field 22 (proc(5)).
  const char* cursor = std::strrchr(text, ')');
  if (cursor == nullptr || cursor[1] == '\0') {
    *garbled = true;
    return std::nullopt;
  }
  cursor += 2;
  const char state = *cursor;
  const int32_t ppid = cursor[1] == ' ' ? static_cast<int32_t>(std::strtol(cursor + 2, nullptr, 10)) : 0;
  for (int field = 3; field < 22; ++field) {
    cursor = std::strchr(cursor, ' ');
    if (cursor == nullptr) {
      *garbled = true;
      return std::nullopt;
    }
    ++cursor;
  }
  return TaskStat{state, std::strtoull(cursor, nullptr, 10), ppid};
}

// The effective uid, from the "Uid:" line of /proc/<pid>/status (real,
// effective, saved, file system); 0 if it cannot be read.
uint32_t EffectiveUid(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/status";
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char text[4096];
  const ssize_t got = read(fd, text, sizeof(text) - 1);
  close(fd);
  if (got <= 0) return 0;
  text[got] = '\0';
  const char* line = std::strstr(text, "\nUid:");
  if (line == nullptr) return 0;
  char* end;
  std::strtoul(line + 5, &end, 10);  // the real uid
  return static_cast<uint32_t>(std::strtoul(end, nullptr, 10));
}

bool Exited(char state) { return state == 'Z' || state == 'X' || state == 'x'; }

void Fill(unsigned char* record, pid_t pid, const TaskStat& process, int32_t lwp) {
  const uint64_t hz = static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
  std::memset(record, 0, KinfoProcSize());
  Put<int32_t>(record, abi::kKpStatOffset,
               process.state == 'T' || process.state == 't' ? abi::kSstop : abi::kSactive);
  Put<int64_t>(record, abi::kKpStartSecOffset, static_cast<int64_t>(process.start_ticks / hz));
  Put<int64_t>(record, abi::kKpStartUsecOffset,
               static_cast<int64_t>((process.start_ticks % hz) * (1'000'000 / hz)));
  Put<int32_t>(record, abi::kKpPidOffset, static_cast<int32_t>(pid));
  Put<uint32_t>(record, abi::kKpUidOffset, EffectiveUid(pid));
  Put<int32_t>(record, abi::kKpPpidOffset, process.ppid);
  Put<int32_t>(record, abi::kKpLwpPidOffset, static_cast<int32_t>(pid));
  Put<int32_t>(record, abi::kKpLwpTidOffset, lwp);
}

}  // namespace

namespace testing {
void SetJailedForTesting(bool jailed) { jailed_for_testing.store(jailed); }
}  // namespace testing

size_t KinfoProcSize() { return abi::kKinfoLwpMinSize; }

int ReadKinfoProc(pid_t pid, void* buffer, size_t* length) {
  if (pid < 0) return Fail(EINVAL);
  if (*length < KinfoProcSize()) return Fail(ENOMEM);
  bool garbled = false;
  const std::optional<TaskStat> process =
      ReadTaskStat("/proc/" + std::to_string(pid) + "/stat", &garbled);
  if (garbled) return Fail(EIO);
  if (!process.has_value() || Exited(process->state)) {
    *length = 0;  // no such process, or a zombie
    return 0;
  }
  // Without KERN_PROC_FLAG_LWP the LWPs are aggregated: kl_tid is -1.
  Fill(static_cast<unsigned char*>(buffer), pid, *process, -1);
  *length = KinfoProcSize();
  return 0;
}

int ReadKinfoLwps(pid_t pid, void* buffer, size_t* length) {
  if (pid < 0) return Fail(EINVAL);
  const std::string dir = "/proc/" + std::to_string(pid);
  bool garbled = false;
  std::optional<TaskStat> process = ReadTaskStat(dir + "/stat", &garbled);
  if (garbled) return Fail(EIO);
  const size_t capacity = *length;
  *length = 0;
  if (!process.has_value()) return 0;  // no such process
  DIR* tasks = opendir((dir + "/task").c_str());
  if (tasks == nullptr) return 0;  // it went away
  int result = 0;
  size_t stored = 0;
  while (const dirent* entry = readdir(tasks)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    const std::optional<TaskStat> task =
        ReadTaskStat(dir + "/task/" + entry->d_name + "/stat", &garbled);
    if (!task.has_value() || Exited(task->state)) continue;
    if (stored + KinfoProcSize() > capacity) {
      result = Fail(ENOMEM);
      break;
    }
    // The process's fields in every record; a process whose first thread
    // exited is still running (Linux shows its leader as a zombie).
    TaskStat shown = *process;
    if (Exited(shown.state)) shown.state = task->state;
    Fill(static_cast<unsigned char*>(buffer) + stored, pid, shown,
         static_cast<int32_t>(std::strtol(entry->d_name, nullptr, 10)));
    stored += KinfoProcSize();
  }
  closedir(tasks);
  if (garbled && result == 0) return Fail(EIO);
  *length = stored;
  return result;
}

int32_t CurrentLwpId() { return static_cast<int32_t>(gettid()); }

// Linux's "Max locked memory  <soft> <hard> bytes" line ("unlimited" for
// RLIM_INFINITY) as procfs_rlimit.c's "memlock <cur> <max>" (-1).
ssize_t ReadProcfsRlimit(pid_t pid, char* buffer, size_t size) {
  const std::string path = "/proc/" + std::to_string(pid) + "/limits";
  FILE* file = std::fopen(path.c_str(), "re");
  if (file == nullptr) return -1;
  std::string text;
  char line[256];
  while (std::fgets(line, sizeof(line), file) != nullptr) {
    char soft[32];
    char hard[32];
    if (std::sscanf(line, "Max locked memory %31s %31s", soft, hard) != 2) continue;
    auto value = [](const char* field) { return std::strcmp(field, "unlimited") == 0 ? std::string("-1") : std::string(field); };
    text = "memlock " + value(soft) + " " + value(hard) + "\n";
  }
  std::fclose(file);
  const size_t n = text.size() < size ? text.size() : size;
  std::memcpy(buffer, text.data(), n);
  return static_cast<ssize_t>(n);
}

ssize_t ReadOwnExecutablePath(char* buffer, size_t size) {
  if (size == 0) {
    errno = ENOMEM;
    return -1;
  }
  const ssize_t n = readlink("/proc/self/exe", buffer, size - 1);
  if (n < 0) return -1;
  if (static_cast<size_t>(n) == size - 1) {  // perhaps cut: sysctl says ENOMEM
    errno = ENOMEM;
    return -1;
  }
  buffer[n] = '\0';
  return n;
}

int InJail() { return jailed_for_testing.load() ? 1 : 0; }

}  // namespace sysv::dragonfly_backend
