// Touching memory that may not be there: one byte read or written with
// SIGSEGV caught, for tests that compare what a program can still reach
// after shmdt (the kernel unmaps; libsysv may park the range, PROT_NONE).
#ifndef SYSV_TESTS_TESTING_ACCESS_PROBE_H_
#define SYSV_TESTS_TESTING_ACCESS_PROBE_H_

#include <string>

namespace sysv::testing {

// Reads the byte at `p` ("read 7"), or writes `value` there ("wrote") when
// `value` >= 0; "fault" if either raised SIGSEGV. Not thread-safe (it
// replaces the SIGSEGV handler for the duration).
std::string ProbeAccess(char* p, int value = -1);

}  // namespace sysv::testing

#endif  // SYSV_TESTS_TESTING_ACCESS_PROBE_H_
