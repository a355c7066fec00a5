#include "tools/bench/bench_api.h"

#include "sysv/sysv.h"

namespace sysv::bench {

const BenchApi& KernelApi() {
  static const BenchApi api = {"kernel", ::shmget, ::shmat,  ::shmdt,  ::shmctl, ::semget,
                               ::semop,  ::semctl, ::msgget, ::msgsnd, ::msgrcv, ::msgctl};
  return api;
}

const BenchApi& LibsysvApi() {
  static const BenchApi api = {"libsysv",  sysv_shmget, sysv_shmat,  sysv_shmdt,  sysv_shmctl, sysv_semget,
                               sysv_semop, sysv_semctl, sysv_msgget, sysv_msgsnd, sysv_msgrcv, sysv_msgctl};
  return api;
}

}  // namespace sysv::bench
