#include "tests/testing/sem_api.h"

#include "sysv/sysv.h"

namespace sysv::testing {

const SemApi& KernelSem() {
  static const SemApi api = {"kernel", ::semget, ::semop, ::semtimedop, ::semctl};
  return api;
}

const SemApi& LibsysvSem() {
  static const SemApi api = {"libsysv", sysv_semget, sysv_semop, sysv_semtimedop, sysv_semctl};
  return api;
}

}  // namespace sysv::testing
