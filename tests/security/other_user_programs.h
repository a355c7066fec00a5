// What an attack test needs to run programs as other users: Bazel's output
// tree is readable by root alone (~/.cache/bazel is 0700), so the programs
// are copied to a directory everyone can read; and a user's stderr is
// captured to check the message a refusal gives.
#ifndef SYSV_TESTS_SECURITY_OTHER_USER_PROGRAMS_H_
#define SYSV_TESTS_SECURITY_OTHER_USER_PROGRAMS_H_

#include <sys/types.h>

#include <functional>
#include <string>

#include "tests/reliability/as_user.h"

namespace sysv::testing {

// A fresh root-owned directory under /tmp (short: socket paths must fit in
// 108 bytes) with exactly `mode`. Empty on failure.
std::string MakeRootDir(const std::string& tag, mode_t mode);

// Copies the file at `source` into `dir` under its base name with exactly
// `mode`, owned by root; returns the copy's path, or "" on failure.
std::string CopyProgram(const std::string& source, const std::string& dir, mode_t mode = 0755);

struct Captured {
  int status = -1;     // as RunAs returns it
  std::string output;  // what the body wrote to stderr and stdout
};

// RunAs(who, body) with the child's stderr and stdout captured.
Captured RunAsCaptured(const Identity& who, const std::function<int()>& body);

// The pid a daemon wrote into <dir>/sysvipcd.lock, or 0.
pid_t LockFilePid(const std::string& dir);

// SIGTERMs `pid` (a daemon that detached, so not our child) and waits up to
// 5 s for it to go.
void StopDetachedDaemon(pid_t pid);

// The contents of a file, or "<missing>".
std::string FileContents(const std::string& path);

}  // namespace sysv::testing

#endif  // SYSV_TESTS_SECURITY_OTHER_USER_PROGRAMS_H_
