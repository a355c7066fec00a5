#include "tools/bench/bench_api.h"

#include "sysv/sysv.h"

namespace sysv::bench {
namespace {

// The C library's semop and msgrcv in the table's (Linux's) types: C
// libraries disagree on semop's count (size_t in glibc, unsigned in
// DragonFly's libc) and msgrcv's result (ssize_t, int). The conversions
// are exact for every value a scenario passes; the compiler makes each a
// tail call.
int KernelSemop(int semid, struct sembuf* sops, size_t nsops) { return ::semop(semid, sops, nsops); }
ssize_t KernelMsgrcv(int msqid, void* msgp, size_t msgsz, long msgtyp, int msgflg) {
  return ::msgrcv(msqid, msgp, msgsz, msgtyp, msgflg);
}

}  // namespace

const BenchApi& KernelApi() {
  static const BenchApi api = {"kernel",    ::shmget,  ::shmat,  ::shmdt,  ::shmctl,     ::semget,
                               KernelSemop, ::semctl, ::msgget, ::msgsnd, KernelMsgrcv, ::msgctl};
  return api;
}

const BenchApi& LibsysvApi() {
  static const BenchApi api = {"libsysv",  sysv_shmget, sysv_shmat,  sysv_shmdt,  sysv_shmctl, sysv_semget,
                               sysv_semop, sysv_semctl, sysv_msgget, sysv_msgsnd, sysv_msgrcv, sysv_msgctl};
  return api;
}

}  // namespace sysv::bench
