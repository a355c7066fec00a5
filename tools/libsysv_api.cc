#include "tools/libsysv_api.h"

#include "compat/core_ctl.h"
#include "sysv/sysv.h"

namespace sysv::tools {

const IpcApi& LibsysvIpcApi() {
  // Reading by the core's numbers, so that listing works whatever the C
  // library's command set (DragonFly's has no *_STAT or *_INFO).
  static const IpcApi api = {
      sysv_shmget,         sysv_shmat,          sysv_shmdt,         sysv_shmctl, sysv_semget,
      sysv_semctl,         sysv_msgget,         sysv_msgctl,        compat::ShmctlReply,
      compat::SemctlReply, compat::MsgctlReply,
  };
  return api;
}

}  // namespace sysv::tools
