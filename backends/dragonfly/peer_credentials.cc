#include "backends/dragonfly/peer_credentials.h"

#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "backends/dragonfly/dragonfly_abi.h"
#include "backends/dragonfly/peer_cred_sys.h"
#include "core/ipc/credentials.h"
#include "core/ipc/errno_status.h"

namespace sysv::dragonfly_backend {
namespace {

using ::sysv::core::Credentials;
using ::sysv::core::ErrnoStatus;

template <typename T>
T Get(absl::Span<const uint8_t> bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(value));
  return value;
}

std::vector<uint32_t> Groups(absl::Span<const uint8_t> bytes, size_t offset,
                             int first, int count) {
  std::vector<uint32_t> groups;
  for (int i = first; i < count; ++i) {
    groups.push_back(Get<uint32_t>(bytes, offset + i * sizeof(uint32_t)));
  }
  return groups;
}

}  // namespace

absl::StatusOr<Credentials> CredentialsFromXucred(
    absl::Span<const uint8_t> bytes) {
  if (bytes.size() != abi::kXucredSize) {
    return ErrnoStatus(EPROTO, absl::StrCat("xucred of ", bytes.size(),
                                            " bytes, expected ",
                                            abi::kXucredSize));
  }
  const uint32_t version = Get<uint32_t>(bytes, abi::kXucredVersionOffset);
  if (version != abi::kXucredVersion) {
    return ErrnoStatus(EPROTO, absl::StrCat("xucred version ", version));
  }
  const int ngroups = Get<int16_t>(bytes, abi::kXucredNgroupsOffset);
  if (ngroups < 1 || ngroups > abi::kNgroups) {
    return ErrnoStatus(EPROTO, absl::StrCat("xucred with ", ngroups, " groups"));
  }
  return Credentials::ForIds(
      /*pid=*/0, Get<uint32_t>(bytes, abi::kXucredUidOffset),
      Get<uint32_t>(bytes, abi::kXucredGroupsOffset),
      Groups(bytes, abi::kXucredGroupsOffset, 1, ngroups));
}

absl::StatusOr<SenderCredentials> SenderFromCmsgcred(
    absl::Span<const uint8_t> bytes) {
  if (bytes.size() < abi::kCmsgcredSize) {
    return ErrnoStatus(EPROTO, absl::StrCat("cmsgcred of ", bytes.size(),
                                            " bytes, expected ",
                                            abi::kCmsgcredSize));
  }
  const int ngroups = Get<int16_t>(bytes, abi::kCmcredNgroupsOffset);
  if (ngroups < 1 || ngroups > abi::kCmgroupMax) {
    return ErrnoStatus(EPROTO, absl::StrCat("cmsgcred with ", ngroups, " groups"));
  }
  SenderCredentials sender;
  sender.pid = Get<int32_t>(bytes, abi::kCmcredPidOffset);
  if (sender.pid <= 0) {
    return ErrnoStatus(EPROTO, absl::StrCat("cmsgcred pid ", sender.pid));
  }
  sender.uid = Get<uint32_t>(bytes, abi::kCmcredUidOffset);
  sender.euid = Get<uint32_t>(bytes, abi::kCmcredEuidOffset);
  sender.gid = Get<uint32_t>(bytes, abi::kCmcredGidOffset);
  sender.egid = Get<uint32_t>(bytes, abi::kCmcredGroupsOffset);
  sender.groups = Groups(bytes, abi::kCmcredGroupsOffset, 1, ngroups);
  return sender;
}

absl::StatusOr<Credentials> PeerCredentials(int fd) {
  // One byte more than a struct xucred, so that a larger answer (a layout we
  // do not know) shows as a wrong size instead of being cut to fit.
  uint8_t buffer[abi::kXucredSize + 1];
  size_t length = sizeof(buffer);
  if (GetLocalPeercred(fd, buffer, &length) != 0) {
    return ErrnoStatus(errno, "getsockopt(LOCAL_PEERCRED)");
  }
  return CredentialsFromXucred(absl::MakeConstSpan(buffer, length));
}

absl::StatusOr<Credentials> WithSenderPid(Credentials peer,
                                          const SenderCredentials& sender) {
  if (sender.euid != peer.uid) {
    return ErrnoStatus(EPERM, absl::StrCat("message sent by pid ", sender.pid,
                                           " with euid ", sender.euid,
                                           " on a connection of euid ",
                                           peer.uid));
  }
  peer.pid = sender.pid;
  return peer;
}

absl::StatusOr<Credentials> CurrentCredentials() { return CurrentCredentials(getpid()); }

absl::StatusOr<Credentials> CurrentCredentials(int32_t pid) {
  std::vector<gid_t> groups;
  for (;;) {
    const int count = getgroups(0, nullptr);
    if (count < 0) return ErrnoStatus(errno, "getgroups");
    groups.resize(static_cast<size_t>(count));
    const int got = getgroups(count, groups.data());
    if (got >= 0) {
      groups.resize(static_cast<size_t>(got));
      break;
    }
    // EINVAL: another thread added groups between the two calls; ask again.
    if (errno != EINVAL) return ErrnoStatus(errno, "getgroups");
  }
  return Credentials::ForIds(pid, geteuid(), getegid(),
                             std::vector<uint32_t>(groups.begin(), groups.end()));
}

}  // namespace sysv::dragonfly_backend
