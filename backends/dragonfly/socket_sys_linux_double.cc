// socket_sys.h on Linux, for --config=dragonfly_doubles and tests: the
// control data is translated between DragonFly's layout (dragonfly_abi.h)
// and Linux's, so that channel.cc, control_message.cc and the daemon's
// introduction protocol run unchanged over Linux sockets.
//
// Sending, the first DragonFly control message (DragonFly's kernel handles
// no other) becomes:
//   SCM_RIGHTS  Linux SCM_RIGHTS with the same descriptors;
//   SCM_CREDS   Linux SCM_CREDENTIALS with the sender's own pid, uid and
//               gid, which the kernel checks (a process cannot claim another
//               pid or ids it does not hold, CAP_SYS_ADMIN and CAP_SETUID
//               aside).
// A control message of another kind, or more than one, is EINVAL here (the
// channel sends neither; DragonFly would pass what follows the first
// uninterpreted).
//
// Receiving, SO_PASSCRED is on only for the recvmsg() itself, so that Linux
// reports credentials with a message that was sent with SCM_CREDENTIALS and
// (pid 0) not with one sent without. The Linux message becomes:
//   descriptors                one DragonFly SCM_RIGHTS (more than the
//                              caller's control buffer holds are closed, and
//                              MSG_CTRUNC set, as DragonFly's kernel does);
//   credentials (pid > 0)      one DragonFly SCM_CREDS: a struct cmsgcred
//                              with the pid and real ids Linux vouched for,
//                              and the effective uid, effective gid and
//                              groups read from /proc/<pid>/status as the
//                              message is received (DragonFly's kernel takes
//                              them as it is sent).
// Where the double falls short of DragonFly: a message sent in the moment
// the receiver has SO_PASSCRED on carries credentials although its sender
// did not ask (Linux adds them); a sender that changes its effective ids
// between send and receive is reported with the new ones; a sender gone by
// then (no /proc entry) is reported without credentials.
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "backends/dragonfly/dragonfly_abi.h"
#include "backends/dragonfly/socket_sys.h"

namespace sysv::dragonfly_backend {
namespace {

// Enough for DragonFly's most (control_message.h: kMaxFdsPerMessage), and
// Linux's SCM_MAX_FD, which is the same.
constexpr size_t kMaxFds = 253;

int Fail(int errnum) {
  errno = errnum;
  return -1;
}

template <typename T>
void Put(uint8_t* out, size_t offset, T value) {
  std::memcpy(out + offset, &value, sizeof(value));
}

template <typename T>
T Get(const uint8_t* in, size_t offset) {
  T value;
  std::memcpy(&value, in + offset, sizeof(value));
  return value;
}

// The ids of /proc/<pid>/status: its "Uid:" and "Gid:" lines (real,
// effective, saved, fs) and its "Groups:" line.
struct StatusIds {
  uint32_t euid = 0;
  uint32_t egid = 0;
  std::vector<uint32_t> groups;
};

bool ReadStatusIds(pid_t pid, StatusIds* ids) {
  const std::string path = "/proc/" + std::to_string(pid) + "/status";
  FILE* file = std::fopen(path.c_str(), "re");
  if (file == nullptr) return false;
  bool have_uid = false;
  bool have_gid = false;
  char line[4096];
  while (std::fgets(line, sizeof(line), file) != nullptr) {
    unsigned real = 0;
    unsigned effective = 0;
    if (std::sscanf(line, "Uid: %u %u", &real, &effective) == 2) {
      ids->euid = effective;
      have_uid = true;
    } else if (std::sscanf(line, "Gid: %u %u", &real, &effective) == 2) {
      ids->egid = effective;
      have_gid = true;
    } else if (std::strncmp(line, "Groups:", 7) == 0) {
      char* cursor = line + 7;
      char* end = nullptr;
      for (unsigned long group = std::strtoul(cursor, &end, 10); end != cursor;
           group = std::strtoul(cursor, &end, 10)) {
        ids->groups.push_back(static_cast<uint32_t>(group));
        cursor = end;
      }
    }
  }
  std::fclose(file);
  return have_uid && have_gid;
}

// A DragonFly SCM_CREDS message into `out` (room for abi::CmsgSpace of a
// cmsgcred): the sender Linux named, its effective ids from /proc. Returns
// the bytes written, or 0 if the sender is gone.
size_t PutCreds(const struct ucred& sender, uint8_t* out) {
  StatusIds ids;
  if (!ReadStatusIds(sender.pid, &ids)) return 0;
  const size_t size = abi::CmsgSpace(abi::kCmsgcredSize);
  std::memset(out, 0, size);
  Put<uint32_t>(out, abi::kCmsgLenOffset, static_cast<uint32_t>(abi::CmsgLen(abi::kCmsgcredSize)));
  Put<int32_t>(out, abi::kCmsgLevelOffset, abi::kSolSocket);
  Put<int32_t>(out, abi::kCmsgTypeOffset, abi::kScmCreds);
  uint8_t* cred = out + abi::kCmsgDataOffset;
  Put<int32_t>(cred, abi::kCmcredPidOffset, sender.pid);
  Put<uint32_t>(cred, abi::kCmcredUidOffset, sender.uid);
  Put<uint32_t>(cred, abi::kCmcredEuidOffset, ids.euid);
  Put<uint32_t>(cred, abi::kCmcredGidOffset, sender.gid);
  // As DragonFly's unp_internalize(): the effective gid, then as many
  // supplementary groups as fit in CMGROUP_MAX.
  std::vector<uint32_t> groups = {ids.egid};
  for (uint32_t group : ids.groups) {
    if (static_cast<int>(groups.size()) == abi::kCmgroupMax) break;
    groups.push_back(group);
  }
  Put<int16_t>(cred, abi::kCmcredNgroupsOffset, static_cast<int16_t>(groups.size()));
  std::memcpy(cred + abi::kCmcredGroupsOffset, groups.data(), groups.size() * sizeof(uint32_t));
  return size;
}

// A DragonFly SCM_RIGHTS message with as many of `fds` as fit in `room`
// bytes; closes the rest and says so in *truncated. Returns the bytes used.
size_t PutRights(const std::vector<int>& fds, uint8_t* out, size_t room, bool* truncated) {
  size_t count = fds.size();
  while (count > 0 && abi::CmsgLen(count * sizeof(int32_t)) > room) --count;
  for (size_t i = count; i < fds.size(); ++i) close(fds[i]);
  *truncated = count < fds.size();
  if (count == 0) return 0;
  const size_t length = abi::CmsgLen(count * sizeof(int32_t));
  std::memset(out, 0, length);
  Put<uint32_t>(out, abi::kCmsgLenOffset, static_cast<uint32_t>(length));
  Put<int32_t>(out, abi::kCmsgLevelOffset, abi::kSolSocket);
  Put<int32_t>(out, abi::kCmsgTypeOffset, abi::kScmRights);
  std::memcpy(out + abi::kCmsgDataOffset, fds.data(), count * sizeof(int32_t));
  return length;
}

void SetPasscred(int fd, int on) { (void)setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)); }

}  // namespace

ssize_t SendWithControl(int fd, const void* bytes, size_t size, const uint8_t* control, size_t control_size,
                        int flags) {
  struct iovec iov = {const_cast<void*>(bytes), size};
  struct msghdr msg;
  std::memset(&msg, 0, sizeof(msg));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) uint8_t linux_control[CMSG_SPACE(kMaxFds * sizeof(int))];
  if (control_size >= abi::kCmsghdrSize) {
    const size_t length = Get<uint32_t>(control, abi::kCmsgLenOffset);
    if (length < abi::CmsgLen(0) || length > control_size ||
        abi::CmsgAlign(length) + abi::kCmsghdrSize <= control_size ||
        Get<int32_t>(control, abi::kCmsgLevelOffset) != abi::kSolSocket) {
      return Fail(EINVAL);
    }
    const size_t payload = length - abi::kCmsgDataOffset;
    const int type = Get<int32_t>(control, abi::kCmsgTypeOffset);
    std::memset(linux_control, 0, sizeof(linux_control));
    msg.msg_control = linux_control;
    struct cmsghdr* cmsg = reinterpret_cast<struct cmsghdr*>(linux_control);
    cmsg->cmsg_level = SOL_SOCKET;
    if (type == abi::kScmRights && payload % sizeof(int32_t) == 0 && payload / sizeof(int32_t) <= kMaxFds) {
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN(payload);
      std::memcpy(CMSG_DATA(cmsg), control + abi::kCmsgDataOffset, payload);
      msg.msg_controllen = CMSG_SPACE(payload);
    } else if (type == abi::kScmCreds && payload == abi::kCmsgcredSize) {
      // The ids from the kernel, not libc: a preloaded library that
      // pretends (fakeroot's getuid() answers 0) must not change what
      // DragonFly's kernel would fill in.
      const struct ucred self = {static_cast<pid_t>(syscall(SYS_getpid)), static_cast<uid_t>(syscall(SYS_getuid)),
                                 static_cast<gid_t>(syscall(SYS_getgid))};
      cmsg->cmsg_type = SCM_CREDENTIALS;
      cmsg->cmsg_len = CMSG_LEN(sizeof(self));
      std::memcpy(CMSG_DATA(cmsg), &self, sizeof(self));
      msg.msg_controllen = CMSG_SPACE(sizeof(self));
    } else {
      return Fail(EINVAL);
    }
  }
  return sendmsg(fd, &msg, flags);
}

ssize_t ReceiveWithControl(int fd, void* buffer, size_t size, uint8_t* control, size_t* control_size,
                           int* msg_flags, int flags) {
  struct iovec iov = {buffer, size};
  struct msghdr msg;
  std::memset(&msg, 0, sizeof(msg));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) uint8_t linux_control[CMSG_SPACE(kMaxFds * sizeof(int)) + CMSG_SPACE(sizeof(struct ucred))];
  msg.msg_control = linux_control;
  msg.msg_controllen = sizeof(linux_control);
  SetPasscred(fd, 1);
  const ssize_t received = recvmsg(fd, &msg, flags);
  const int errnum = errno;
  SetPasscred(fd, 0);
  if (received < 0) return Fail(errnum);

  std::vector<int> fds;
  struct ucred sender = {0, 0, 0};
  for (struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET) continue;
    const size_t payload = cmsg->cmsg_len - CMSG_LEN(0);
    if (cmsg->cmsg_type == SCM_RIGHTS) {
      for (size_t i = 0; i + sizeof(int) <= payload; i += sizeof(int)) {
        int received_fd;
        std::memcpy(&received_fd, CMSG_DATA(cmsg) + i, sizeof(int));
        fds.push_back(received_fd);
      }
    } else if (cmsg->cmsg_type == SCM_CREDENTIALS && payload >= sizeof(sender)) {
      std::memcpy(&sender, CMSG_DATA(cmsg), sizeof(sender));
    }
  }
  *msg_flags = msg.msg_flags;
  size_t used = 0;
  if (!fds.empty()) {
    // Descriptors win: DragonFly's kernel delivers one control message.
    bool truncated = false;
    used = PutRights(fds, control, *control_size, &truncated);
    if (truncated) *msg_flags |= MSG_CTRUNC;
  } else if (sender.pid > 0 && *control_size >= abi::CmsgSpace(abi::kCmsgcredSize)) {
    used = PutCreds(sender, control);
  } else if (sender.pid > 0) {
    *msg_flags |= MSG_CTRUNC;
  }
  *control_size = used;
  return received;
}

// Linux's sockaddr_un has no length field: the length passed to bind() and
// connect() is all.
void SetSunLen(struct sockaddr_un* /*address*/, socklen_t /*length*/) {}

}  // namespace sysv::dragonfly_backend
