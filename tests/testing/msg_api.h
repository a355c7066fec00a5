// The message queue calls as a table, so one scenario runs against the
// kernel and against libsysv.
#ifndef SYSV_TESTS_TESTING_MSG_API_H_
#define SYSV_TESTS_TESTING_MSG_API_H_

#include <sys/msg.h>

namespace sysv::testing {

struct MsgApi {
  const char* name;
  int (*msgget)(key_t key, int msgflg);
  int (*msgsnd)(int msqid, const void* msgp, size_t msgsz, int msgflg);
  ssize_t (*msgrcv)(int msqid, void* msgp, size_t msgsz, long msgtyp, int msgflg);
  int (*msgctl)(int msqid, int cmd, struct msqid_ds* buf);
};

const MsgApi& KernelMsg();
const MsgApi& LibsysvMsg();

}  // namespace sysv::testing

#endif  // SYSV_TESTS_TESTING_MSG_API_H_
