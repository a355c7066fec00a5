// The channel's message calls (channel.cc): sendmsg(2) and recvmsg(2) whose
// control data is in DragonFly's layout (dragonfly_abi.h, built and read by
// control_message.h), and the one sockaddr_un field Linux lacks. Two
// implementations:
//   socket_sys_dragonfly.cc     the real calls; built only for
//                               //build_defs:dragonfly_os;
//   socket_sys_linux_double.cc  a Linux double that translates the control
//                               data to and from Linux's (SCM_CREDS to
//                               SCM_CREDENTIALS), so that the daemon and the
//                               client library run over this backend on
//                               Linux (--config=dragonfly_doubles).
//
// The contract (DragonFly's sys/kern/uipc_usrreq.c and uipc_syscalls.c):
//   - SendWithControl: sendmsg(fd, {bytes, control}, flags). The kernel
//     handles the FIRST control message only: SCM_RIGHTS passes descriptors;
//     SCM_CREDS (a zeroed struct cmsgcred) is filled with the sender's pid,
//     real and effective uid, real gid and groups (effective gid first).
//     Returns the bytes sent, or -1 with errno.
//   - ReceiveWithControl: recvmsg(fd, {buffer, control}, flags): *control_size
//     holds the control buffer's size on entry and the control data's length
//     on return; *msg_flags gets msg_flags (MSG_TRUNC, MSG_CTRUNC). Returns
//     the bytes received, or -1 with errno.
//   - SetSunLen: DragonFly's sockaddr_un has sun_len, the address's length.
#ifndef SYSV_BACKENDS_DRAGONFLY_SOCKET_SYS_H_
#define SYSV_BACKENDS_DRAGONFLY_SOCKET_SYS_H_

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <cstdint>

namespace sysv::dragonfly_backend {

ssize_t SendWithControl(int fd, const void* bytes, size_t size, const uint8_t* control, size_t control_size,
                        int flags);

ssize_t ReceiveWithControl(int fd, void* buffer, size_t size, uint8_t* control, size_t* control_size,
                           int* msg_flags, int flags);

void SetSunLen(struct sockaddr_un* address, socklen_t length);

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_SOCKET_SYS_H_
