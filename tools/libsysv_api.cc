#include "tools/libsysv_api.h"

#include "sysv/sysv.h"

namespace sysv::tools {

const IpcApi& LibsysvIpcApi() {
  static const IpcApi api = {
      sysv_shmget, sysv_shmat, sysv_shmdt,  sysv_shmctl,
      sysv_semget, sysv_semctl, sysv_msgget, sysv_msgctl,
  };
  return api;
}

}  // namespace sysv::tools
