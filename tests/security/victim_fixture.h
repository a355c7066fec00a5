// The shape of an attack test in which one user (the victim) uses an object
// for the attack's whole time while another attacks it: a namespace with
// its daemon, users that can be switched (else the test is skipped), and
// the victim run as its own user in a thread, started once it is in place.
#ifndef SYSV_TESTS_SECURITY_VICTIM_FIXTURE_H_
#define SYSV_TESTS_SECURITY_VICTIM_FIXTURE_H_

#include <functional>
#include <string>
#include <thread>

#include "tests/reliability/as_user.h"
#include "tests/testing/test_daemon.h"

namespace sysv::testing {

class VictimFixture : public SharedNamespaceTest {
 protected:
  explicit VictimFixture(std::string tag) : SharedNamespaceTest(std::move(tag)) {}
  void SetUp() override;

  // Runs `body` as `who` (RunAs) in a thread whose end stores its status in
  // `*result`; returns once `body` has called its argument (it is in place)
  // or ended. `body`'s argument returns false if the test is gone.
  std::thread StartVictim(const Identity& who, std::function<int(const std::function<bool()>& ready)> body,
                          int* result);
};

}  // namespace sysv::testing

#endif  // SYSV_TESTS_SECURITY_VICTIM_FIXTURE_H_
