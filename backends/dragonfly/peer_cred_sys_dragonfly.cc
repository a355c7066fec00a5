// peer_cred_sys.h over DragonFly's getsockopt(LOCAL_PEERCRED). DragonFly
// only (BUILD: target_compatible_with //build_defs:dragonfly_os).
//
// Not getpeereid(3): DragonFly's (lib/libc/gen/getpeereid.c) makes the same
// getsockopt() but returns only the effective ids, dropping the groups we
// need, and on an xucred version mismatch returns EINVAL itself instead of
// -1 with errno. LOCAL_PEERCRED is in sys/sys/un.h (under __BSD_VISIBLE);
// the level is 0, as getpeereid.c passes it.
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/ucred.h>
#include <sys/un.h>

#include <cstddef>

#include "backends/dragonfly/dragonfly_abi.h"
#include "backends/dragonfly/peer_cred_sys.h"

namespace sysv::dragonfly_backend {

static_assert(abi::kSolLocal == 0);
static_assert(abi::kLocalPeercred == LOCAL_PEERCRED);

int GetLocalPeercred(int fd, void* buffer, size_t* length) {
  socklen_t size = static_cast<socklen_t>(*length);
  if (getsockopt(fd, abi::kSolLocal, LOCAL_PEERCRED, buffer, &size) != 0) {
    return -1;
  }
  *length = size;
  return 0;
}

}  // namespace sysv::dragonfly_backend
