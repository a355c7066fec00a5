#include "tests/driver/guest_check.h"

#include <cstring>

namespace sysv::guest {

Tally& GlobalTally() {
  static Tally tally;
  return tally;
}

bool Check(bool ok, const std::string& name, const std::string& detail) {
  if (ok) {
    ++GlobalTally().passed;
    std::printf("ok - %s\n", name.c_str());
  } else {
    ++GlobalTally().failed;
    std::printf("not ok - %s: %s\n", name.c_str(), detail.c_str());
  }
  std::fflush(stdout);
  return ok;
}

bool CheckErrno(long rc, int saved_errno, int want_errno, const std::string& name) {
  return Check(rc == -1 && saved_errno == want_errno, name,
               "rc " + std::to_string(rc) + " errno " + std::strerror(saved_errno) + ", want " +
                   std::strerror(want_errno));
}

int Finish(const char* suite) {
  std::printf("GUEST-TALLY %s: %d passed, %d failed\n", suite, GlobalTally().passed,
              GlobalTally().failed);
  std::fflush(stdout);
  return GlobalTally().failed == 0 ? 0 : 1;
}

}  // namespace sysv::guest
