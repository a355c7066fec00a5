#include "tests/testing/access_probe.h"

#include <setjmp.h>
#include <signal.h>

#include "absl/strings/str_cat.h"

namespace sysv::testing {
namespace {

sigjmp_buf g_fault_jump;
void OnFault(int /*signal*/, siginfo_t* /*info*/, void* /*context*/) { siglongjmp(g_fault_jump, 1); }

}  // namespace

std::string ProbeAccess(char* p, int value) {
  struct sigaction fault {};
  struct sigaction old {};
  fault.sa_sigaction = OnFault;
  fault.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGSEGV, &fault, &old);
  std::string result;
  if (sigsetjmp(g_fault_jump, 1) == 0) {
    if (value < 0) {
      result = absl::StrCat("read ", static_cast<int>(*static_cast<volatile char*>(p)));
    } else {
      *static_cast<volatile char*>(p) = static_cast<char>(value);
      result = "wrote";
    }
  } else {
    result = "fault";
  }
  sigaction(SIGSEGV, &old, nullptr);
  return result;
}

}  // namespace sysv::testing
