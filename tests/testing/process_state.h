// What another process is doing, as /proc shows it: tests wait for a child
// to be asleep in the call under test before they act.
#ifndef SYSV_TESTS_TESTING_PROCESS_STATE_H_
#define SYSV_TESTS_TESTING_PROCESS_STATE_H_

#include <sys/types.h>

#include <string>

namespace sysv::testing {

// The state letter of /proc/<pid>/stat ('R', 'S', 'Z', ...), or 0 when the
// process is gone.
char ProcessState(pid_t pid);

// /proc/<pid>/wchan: the kernel function it sleeps in ("" when unknown).
std::string WaitChannel(pid_t pid);

// Whether `pid` sleeps in a System V wait (the kernel's semop, msgsnd or
// msgrcv, or libsysv's futex) or is gone. A runnable (merely preempted)
// process is not asleep.
bool AsleepInIpcWait(pid_t pid);

}  // namespace sysv::testing

#endif  // SYSV_TESTS_TESTING_PROCESS_STATE_H_
