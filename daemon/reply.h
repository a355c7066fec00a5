// A reply on its way to a client: the encoded message and the descriptors
// that travel beside it.
#ifndef SYSV_DAEMON_REPLY_H_
#define SYSV_DAEMON_REPLY_H_

#include <vector>

#include "backends/common/unique_fd.h"
#include "core/protocol/codec.h"

namespace sysv::daemon {

struct Reply {
  core::wire::Bytes message;
  std::vector<backend::UniqueFd> owned_fds;  // closed after sending
  std::vector<int> borrowed_fds;             // sent, not closed (daemon-held)
  // The object's lock was busy and nothing was done: the server parks the
  // request and asks again later, while it serves everyone else (DESIGN.md
  // "Trust model", rule 5). `message` is then empty.
  bool busy = false;
};

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_REPLY_H_
