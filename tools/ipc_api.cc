#include "tools/ipc_api.h"

namespace sysv::tools {

const IpcApi& KernelIpcApi() {
  static constexpr IpcApi kApi = {
      .shmget = &::shmget,
      .shmat = &::shmat,
      .shmdt = &::shmdt,
      .shmctl = &::shmctl,
      .semget = &::semget,
      .semctl = &::semctl,
      .msgget = &::msgget,
      .msgctl = &::msgctl,
  };
  return kApi;
}

}  // namespace sysv::tools
