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
};

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_REPLY_H_
