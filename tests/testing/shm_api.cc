#include "tests/testing/shm_api.h"

#include "sysv/sysv.h"

namespace sysv::testing {

const ShmApi& KernelShm() {
  static const ShmApi api = {"kernel", ::shmget, ::shmat, ::shmdt, ::shmctl};
  return api;
}

const ShmApi& LibsysvShm() {
  static const ShmApi api = {"libsysv", sysv_shmget, sysv_shmat, sysv_shmdt, sysv_shmctl};
  return api;
}

}  // namespace sysv::testing
