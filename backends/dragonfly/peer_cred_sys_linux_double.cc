// peer_cred_sys.h on Linux, for tests: builds a struct xucred in DragonFly's
// layout (dragonfly_abi.h) from SO_PEERCRED (effective uid and gid) and
// SO_PEERGROUPS (supplementary groups), which Linux also records at
// connect(2). testonly; never linked into a product.
//
// The group list is laid out as DragonFly's: the effective gid first, then
// the supplementary groups, at most abi::kNgroups entries in all (DragonFly's
// kernel holds no more; a Linux process with more is cut short here).
// An unconnected socket, which Linux answers with SO_PEERGROUPS' ENODATA, is
// ENOTCONN as on DragonFly.
#include <sys/socket.h>
#include <sys/types.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "backends/dragonfly/dragonfly_abi.h"
#include "backends/dragonfly/peer_cred_sys.h"

namespace sysv::dragonfly_backend {
namespace {

int Fail(int errnum) {
  errno = errnum;
  return -1;
}

template <typename T>
void Put(unsigned char* out, size_t offset, T value) {
  std::memcpy(out + offset, &value, sizeof(value));
}

}  // namespace

int GetLocalPeercred(int fd, void* buffer, size_t* length) {
  struct ucred cred;
  socklen_t cred_length = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_length) != 0) {
    return -1;  // EBADF, ENOTSOCK
  }
  std::vector<gid_t> groups(64);
  for (;;) {
    socklen_t size = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &size) == 0) {
      groups.resize(size / sizeof(gid_t));
      break;
    }
    if (errno == ENODATA) return Fail(ENOTCONN);
    if (errno != ERANGE) return -1;
    groups.resize(size / sizeof(gid_t));
  }
  if (*length < abi::kXucredSize) return Fail(EINVAL);
  auto* out = static_cast<unsigned char*>(buffer);
  std::memset(out, 0, abi::kXucredSize);
  Put<uint32_t>(out, abi::kXucredVersionOffset, abi::kXucredVersion);
  Put<uint32_t>(out, abi::kXucredUidOffset, cred.uid);
  std::vector<uint32_t> list = {cred.gid};
  for (gid_t group : groups) {
    if (static_cast<int>(list.size()) == abi::kNgroups) break;
    list.push_back(group);
  }
  Put<int16_t>(out, abi::kXucredNgroupsOffset, static_cast<int16_t>(list.size()));
  std::memcpy(out + abi::kXucredGroupsOffset, list.data(),
              list.size() * sizeof(uint32_t));
  *length = abi::kXucredSize;
  return 0;
}

}  // namespace sysv::dragonfly_backend
