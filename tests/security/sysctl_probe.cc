// The LTP cases of issue #15 item 4 that configure SysV IPC through
// /proc/sys/kernel, written with the standard names only, so that one
// binary runs on the kernel (in a private IPC namespace) and on libsysv
// (preloaded): sysctl_write_test.cc runs both and compares what they print.
//
//   sysctl_probe shmmax    shmget02: shmmax lowered to 8192 with fopen/
//                          fprintf/fclose; shmget(8193) and shmget(8192)
//   sysctl_probe msgmni    msgget03: msgmni lowered to 3 with open/write;
//                          msgget(IPC_PRIVATE) until it fails
//   sysctl_probe next_id   msgget04, shmget05 (and semget): each *_next_id
//                          written, the next object's id, the file after
//   sysctl_probe refused   a writer without the privilege: every open for
//                          writing, and the values after
// Each prints one line per check; errors as errno names.
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

std::string ErrnoName(int error) {
  switch (error) {
    case 0: return "ok";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EINVAL: return "EINVAL";
    case ENOSPC: return "ENOSPC";
    case ERANGE: return "ERANGE";
    case EEXIST: return "EEXIST";
    default: return "errno " + std::to_string(error);
  }
}

std::string Path(const char* name) { return std::string("/proc/sys/kernel/") + name; }

std::string Read(const char* name) {
  std::FILE* file = std::fopen(Path(name).c_str(), "r");
  if (file == nullptr) return "open " + ErrnoName(errno);
  char line[128] = {};
  if (std::fgets(line, sizeof(line), file) == nullptr) line[0] = '\0';
  std::fclose(file);
  std::string value(line);
  if (!value.empty() && value.back() == '\n') value.pop_back();
  return value;
}

// LTP's SAFE_FILE_PRINTF: fopen, fprintf, fclose.
std::string PrintTo(const char* name, const char* value) {
  std::FILE* file = std::fopen(Path(name).c_str(), "w");
  if (file == nullptr) return "fopen " + ErrnoName(errno);
  std::fprintf(file, "%s", value);
  if (std::fclose(file) != 0) return "fclose " + ErrnoName(errno);
  return "ok";
}

// open(O_WRONLY) and one write().
std::string WriteTo(const char* name, const char* value) {
  const int fd = open(Path(name).c_str(), O_WRONLY);
  if (fd < 0) return "open " + ErrnoName(errno);
  const ssize_t n = write(fd, value, std::strlen(value));
  const int error = errno;
  close(fd);
  if (n < 0) return "write " + ErrnoName(error);
  return "wrote " + std::to_string(n);
}

std::string Result(int value) { return value < 0 ? ErrnoName(errno) : "ok"; }

int ShmmaxCase() {
  std::printf("write shmmax: %s\n", PrintTo("shmmax", "8192").c_str());
  std::printf("shmmax: %s\n", Read("shmmax").c_str());
  const int over = shmget(IPC_PRIVATE, 8193, IPC_CREAT | 0600);
  std::printf("shmget(8193): %s\n", Result(over).c_str());
  const int at = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0600);
  std::printf("shmget(8192): %s\n", Result(at).c_str());
  if (at >= 0) shmctl(at, IPC_RMID, nullptr);
  std::printf("write shmmax -1: %s\n", WriteTo("shmmax", "-1").c_str());
  std::printf("write shmmax 12x: %s\n", WriteTo("shmmax", "12x").c_str());
  return 0;
}

int MsgmniCase() {
  std::printf("write msgmni: %s\n", WriteTo("msgmni", "3\n").c_str());
  std::printf("msgmni: %s\n", Read("msgmni").c_str());
  int ids[8];
  int made = 0;
  for (; made < 8; ++made) {
    ids[made] = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (ids[made] < 0) break;
  }
  std::printf("queues made: %d, then %s\n", made, made < 8 ? ErrnoName(errno).c_str() : "none refused");
  for (int i = 0; i < made; ++i) msgctl(ids[i], IPC_RMID, nullptr);
  std::printf("write msgmni 32769: %s\n", WriteTo("msgmni", "32769").c_str());
  std::printf("write sem semmni 32769: %s\n", WriteTo("sem", "250 32000 32 32769").c_str());
  std::printf("sem: %s\n", Read("sem").c_str());
  return 0;
}

int NextIdCase() {
  // Ids with a sequence number, as an LTP test's getpid() may be.
  std::printf("write msg_next_id: %s\n", PrintTo("msg_next_id", "98321").c_str());
  std::printf("msg_next_id: %s\n", Read("msg_next_id").c_str());
  std::printf("msgget id: %d\n", msgget(0x5c7100a1, IPC_CREAT | 0600));
  std::printf("msg_next_id after: %s\n", Read("msg_next_id").c_str());
  std::printf("write shm_next_id: %s\n", PrintTo("shm_next_id", "65541").c_str());
  const int shm = shmget(0x5c7100a2, 4096, IPC_CREAT | 0600);
  std::printf("shmget id: %d\n", shm);
  std::printf("shm_next_id after: %s\n", Read("shm_next_id").c_str());
  std::printf("write sem_next_id: %s\n", WriteTo("sem_next_id", "7").c_str());
  // An existing key creates nothing: the next id waits for a creation.
  std::printf("msgget existing: %d\n", msgget(0x5c7100a1, 0600));
  std::printf("sem_next_id kept: %s\n", Read("sem_next_id").c_str());
  std::printf("semget id: %d\n", semget(IPC_PRIVATE, 1, IPC_CREAT | 0600));
  std::printf("write sem_next_id -1: %s\n", WriteTo("sem_next_id", "-1").c_str());
  std::printf("sem_next_id: %s\n", Read("sem_next_id").c_str());
  return 0;
}

int RefusedCase() {
  for (const char* name : {"shmmax", "shmall", "shmmni", "sem", "msgmax", "msgmnb", "msgmni", "shm_next_id",
                           "sem_next_id", "msg_next_id"}) {
    std::printf("%s: write %s, fopen %s, now %s\n", name, WriteTo(name, "1").c_str(), PrintTo(name, "2").c_str(),
                Read(name).c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  const std::string what = argc > 1 ? argv[1] : "";
  if (what == "shmmax") return ShmmaxCase();
  if (what == "msgmni") return MsgmniCase();
  if (what == "next_id") return NextIdCase();
  if (what == "refused") return RefusedCase();
  std::fprintf(stderr, "usage: sysctl_probe shmmax|msgmni|next_id|refused\n");
  return 2;
}
