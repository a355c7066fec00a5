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
      // The kernel is read through the C library's commands.
      .shmctl_reply = nullptr,
      .semctl_reply = nullptr,
      .msgctl_reply = nullptr,
  };
  return kApi;
}

}  // namespace sysv::tools
