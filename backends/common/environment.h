// libsysv's environment variables (SYSVIPC_DIR, SYSVIPC_AUTOSTART, SYSVIPCD,
// SYSVIPC_LIB, SYSVIPC_REPLY_POLL, SYSV_EVENT_LOOP, and XDG_RUNTIME_DIR where it places a
// namespace) are read here and nowhere else, so that one rule covers them
// all: a secure-execution process ignores every one of them.
//
// A process runs in secure-execution mode (the kernel sets AT_SECURE in its
// auxiliary vector) when it gained privileges at exec: setuid, setgid, or
// file capabilities. Its environment was written by the less privileged
// user who ran it, so a variable naming a program to start or a directory
// to create would let that user act with the program's privileges (issue
// 12, part 4). glibc's own rule for LD_PRELOAD and the like is the same,
// and secure_getenv(3) is its tool for libraries.
#ifndef SYSV_BACKENDS_COMMON_ENVIRONMENT_H_
#define SYSV_BACKENDS_COMMON_ENVIRONMENT_H_

namespace sysv::backend {

// Whether this process runs in secure-execution mode (getauxval(AT_SECURE)).
bool SecureExecution();

// The value of our variable `name`, or nullptr when it is unset, empty, or
// this is a secure-execution process (secure_getenv). The pointer is into
// the environment: valid until the variable is next changed.
const char* OurVariable(const char* name);

}  // namespace sysv::backend

#endif  // SYSV_BACKENDS_COMMON_ENVIRONMENT_H_
