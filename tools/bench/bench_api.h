// The System V IPC calls the benchmark makes, as a table, so that one
// scenario runs unchanged against the kernel and against libsysv.
//
// Every entry behaves as the Linux system call of the same name: -1 (or
// (void*)-1 for shmat) and errno on failure. The kernel table holds the C
// library's functions; this binary links libsysv's client but not its
// preload shim, so those really are system calls (main() refuses to run
// with libsysv in LD_PRELOAD, where they would not be).
#ifndef SYSV_TOOLS_BENCH_BENCH_API_H_
#define SYSV_TOOLS_BENCH_BENCH_API_H_

#include <stddef.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/types.h>

namespace sysv::bench {

struct BenchApi {
  const char* name;  // "kernel" or "libsysv"
  int (*shmget)(key_t key, size_t size, int shmflg);
  void* (*shmat)(int shmid, const void* shmaddr, int shmflg);
  int (*shmdt)(const void* shmaddr);
  int (*shmctl)(int shmid, int cmd, struct shmid_ds* buf);
  int (*semget)(key_t key, int nsems, int semflg);
  int (*semop)(int semid, struct sembuf* sops, size_t nsops);
  // Variadic as semctl(2): the fourth argument is a union semun by value.
  int (*semctl)(int semid, int semnum, int cmd, ...);
  int (*msgget)(key_t key, int msgflg);
  int (*msgsnd)(int msqid, const void* msgp, size_t msgsz, int msgflg);
  ssize_t (*msgrcv)(int msqid, void* msgp, size_t msgsz, long msgtyp, int msgflg);
  int (*msgctl)(int msqid, int cmd, struct msqid_ds* buf);
};

const BenchApi& KernelApi();
const BenchApi& LibsysvApi();

}  // namespace sysv::bench

#endif  // SYSV_TOOLS_BENCH_BENCH_API_H_
