// A program linked with libsysv, installed setuid root by
// secure_environment_test: it creates a segment and says what happened and
// with which privileges it ran.
#include <errno.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include "sysv/sysv.h"

int main() {
  const int id = sysv_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
  const int err = errno;
  printf("euid=%d secure=%lu shmget=%d errno=%d\n", static_cast<int>(geteuid()), getauxval(AT_SECURE), id, err);
  // Where a daemon serves root's default namespace, the segment was made
  // there: leave nothing behind.
  if (id >= 0) sysv_shmctl(id, IPC_RMID, nullptr);
  return 0;
}
