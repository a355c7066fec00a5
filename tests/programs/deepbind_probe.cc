// A library that makes one object of each System V kind, as a PHP extension
// would: deepbind_test.sh loads it with RTLD_DEEPBIND and with dlmopen(),
// where glibc binds its calls to libc's shmget/semget/msgget, not to a
// preloaded libsysv.
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include <cstring>

// 0 when every call succeeded on objects keyed key, key + 1, key + 2, else
// the number of the first call that failed.
extern "C" __attribute__((visibility("default"))) int deepbind_probe(int key) {
  const int shm = shmget(key, 4096, IPC_CREAT | 0600);
  if (shm < 0) return 1;
  const int sem = semget(key + 1, 1, IPC_CREAT | 0600);
  if (sem < 0) return 2;
  sembuf up = {0, 1, 0};
  if (semop(sem, &up, 1) != 0) return 3;
  const int msg = msgget(key + 2, IPC_CREAT | 0600);
  if (msg < 0) return 4;
  struct {
    long mtype;
    char text[8];
  } message = {1, "probe"};
  if (msgsnd(msg, &message, sizeof(message.text), 0) != 0) return 5;
  std::memset(&message, 0, sizeof(message));
  if (msgrcv(msg, &message, sizeof(message.text), 0, IPC_NOWAIT) != sizeof(message.text)) return 6;
  return std::strcmp(message.text, "probe") == 0 ? 0 : 7;
}
