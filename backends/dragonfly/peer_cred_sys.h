// The one DragonFly call PeerCredentials() needs: getsockopt(LOCAL_PEERCRED)
// on a connected Unix socket, which yields a struct xucred. The decoding is
// portable (peer_credentials.cc, layout in dragonfly_abi.h). Two
// implementations:
//   peer_cred_sys_dragonfly.cc     getsockopt(fd, 0, LOCAL_PEERCRED, ...);
//                                  built only for //build_defs:dragonfly_os;
//   peer_cred_sys_linux_double.cc  a test double that builds the same bytes
//                                  (DragonFly layout) from Linux's
//                                  SO_PEERCRED and SO_PEERGROUPS.
//
// The contract (DragonFly's sys/kern/uipc_usrreq.c: uipc_ctloutput() and
// unp_connect(), which records the connecting process's credentials with
// cru2x() and gives the listener's to the connecting side):
//   - *length holds the buffer's size on entry. Returns 0 with the xucred
//     stored and *length set to its size (abi::kXucredSize), or -1 with
//     errno: ENOTCONN (a stream or seqpacket socket that has no peer
//     credentials: never connected, or made by socketpair(2), for which
//     DragonFly records none), EINVAL (another socket type without them),
//     EBADF, ENOTSOCK. The Linux double answers a socketpair end with
//     credentials, as Linux does; tests of the contract use connect(2).
//   - The credentials are those of the peer when the connection was made,
//     not when asked: effective uid, and the group list whose first entry is
//     the effective gid. There is no pid in a struct xucred.
#ifndef SYSV_BACKENDS_DRAGONFLY_PEER_CRED_SYS_H_
#define SYSV_BACKENDS_DRAGONFLY_PEER_CRED_SYS_H_

#include <cstddef>

namespace sysv::dragonfly_backend {

// getsockopt(fd, 0, LOCAL_PEERCRED, buffer, length); see the contract above.
int GetLocalPeercred(int fd, void* buffer, size_t* length);

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_PEER_CRED_SYS_H_
