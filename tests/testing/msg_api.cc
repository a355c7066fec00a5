#include "tests/testing/msg_api.h"

#include "sysv/sysv.h"

namespace sysv::testing {

const MsgApi& KernelMsg() {
  static const MsgApi api = {"kernel", ::msgget, ::msgsnd, ::msgrcv, ::msgctl};
  return api;
}

const MsgApi& LibsysvMsg() {
  static const MsgApi api = {"libsysv", sysv_msgget, sysv_msgsnd, sysv_msgrcv, sysv_msgctl};
  return api;
}

}  // namespace sysv::testing
