// socket_sys.h over DragonFly's own sendmsg(2) and recvmsg(2), whose control
// data is already in the layout control_message.h builds. DragonFly only
// (BUILD: target_compatible_with //build_defs:dragonfly_os).
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "backends/dragonfly/socket_sys.h"

namespace sysv::dragonfly_backend {
namespace {

struct msghdr MakeHeader(struct iovec* iov, void* control, size_t control_size) {
  struct msghdr msg;
  std::memset(&msg, 0, sizeof(msg));
  msg.msg_iov = iov;
  msg.msg_iovlen = 1;
  if (control_size != 0) {
    msg.msg_control = control;
    msg.msg_controllen = static_cast<socklen_t>(control_size);
  }
  return msg;
}

}  // namespace

ssize_t SendWithControl(int fd, const void* bytes, size_t size, const uint8_t* control, size_t control_size,
                        int flags) {
  struct iovec iov = {const_cast<void*>(bytes), size};
  struct msghdr msg = MakeHeader(&iov, const_cast<uint8_t*>(control), control_size);
  return sendmsg(fd, &msg, flags);
}

ssize_t ReceiveWithControl(int fd, void* buffer, size_t size, uint8_t* control, size_t* control_size,
                           int* msg_flags, int flags) {
  struct iovec iov = {buffer, size};
  struct msghdr msg = MakeHeader(&iov, control, *control_size);
  const ssize_t received = recvmsg(fd, &msg, flags);
  if (received < 0) return -1;
  *control_size = msg.msg_controllen;
  *msg_flags = msg.msg_flags;
  return received;
}

void SetSunLen(struct sockaddr_un* address, socklen_t length) { address->sun_len = static_cast<uint8_t>(length); }

}  // namespace sysv::dragonfly_backend
