#include "backends/common/signal_chain.h"

#include <signal.h>

namespace sysv::backend {

void ChainSignal(const struct sigaction& previous, int sig, siginfo_t* info, void* context,
                 SetSignalAction set_action) {
  if (previous.sa_flags & SA_SIGINFO) {
    previous.sa_sigaction(sig, info, context);
    return;
  }
  if (previous.sa_handler == SIG_IGN) return;
  if (previous.sa_handler != SIG_DFL) {
    previous.sa_handler(sig);
    return;
  }
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  sigemptyset(&default_action.sa_mask);
  set_action(sig, &default_action, nullptr);
  if (info == nullptr || info->si_code <= 0) raise(sig);
}

}  // namespace sysv::backend
