// What the backend under test (//backends:platform) offers that some
// attacks' outcomes rest on. Linux gives every one; the DragonFly backend
// (also over its Linux doubles, --config=dragonfly_doubles) gives none, and
// a test whose guarantee needs one skips that case there, naming what is
// missing (the gap is listed in backends/dragonfly/README.md's notes).
#ifndef SYSV_TESTS_SECURITY_BACKEND_GUARANTEES_H_
#define SYSV_TESTS_SECURITY_BACKEND_GUARANTEES_H_

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace sysv::testing {

// Whether regions can be files nobody can resize (memfd seals,
// platform::CreateSealedRegion): OK, or the backend's error. Without them
// a writer can cut a set's, queue's or segment's file under its other
// users until the daemon's take-back.
absl::Status RegionsCanBeSealed();

// Whether the daemon can list another process's held files
// (platform::ProcessHeldFiles): OK, or the backend's error. Without it a
// restarted daemon does not count a surviving client's attachments.
absl::Status HeldFilesCanBeListed();

// Whether a file can hold blocks past its end (fallocate with
// FALLOC_FL_KEEP_SIZE) on the backend's OS: Linux yes; DragonFly has no
// fallocate, so its backend never looks for them, though its Linux doubles
// run where the attacker has it.
bool BlocksPastEndExistOnBackendOs();

// Whether a call that waits on a read-only mapping sleeps in the kernel
// (a futex: Linux), or polls with short naps (nanosleep) because the
// backend's sleep needs a writable word (umtx_sleep: DragonFly,
// backends/dragonfly/region_platform.h).
bool ReadOnlyWaitsSleep();

}  // namespace sysv::testing

// Skips the current test unless `status` (one of the above) is OK, printing
// what is missing.
#define SYSV_SKIP_UNLESS_BACKEND_GIVES(status)                                      \
  do {                                                                              \
    if (const absl::Status sysv_given = (status); !sysv_given.ok()) {               \
      GTEST_SKIP() << #status << ": this backend cannot: " << sysv_given.ToString(); \
    }                                                                               \
  } while (0)

#endif  // SYSV_TESTS_SECURITY_BACKEND_GUARANTEES_H_
