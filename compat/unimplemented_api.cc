// Message queues are not served yet: their entry points fail
// with ENOSYS, as a kernel without SysV IPC would answer.
#include <cerrno>

#include "compat/errno_result.h"
#include "sysv/sysv.h"

using sysv::compat::FailWithErrno;

extern "C" int sysv_msgget(key_t, int) { return FailWithErrno(ENOSYS); }
extern "C" int sysv_msgsnd(int, const void*, size_t, int) { return FailWithErrno(ENOSYS); }
extern "C" ssize_t sysv_msgrcv(int, void*, size_t, long, int) { return FailWithErrno(ENOSYS); }
extern "C" int sysv_msgctl(int, int, struct msqid_ds*) { return FailWithErrno(ENOSYS); }
