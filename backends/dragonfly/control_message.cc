#include "backends/dragonfly/control_message.h"

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "backends/common/unique_fd.h"
#include "backends/dragonfly/dragonfly_abi.h"
#include "backends/dragonfly/peer_credentials.h"
#include "core/ipc/errno_status.h"

namespace sysv::dragonfly_backend {
namespace {

using ::sysv::backend::UniqueFd;
using ::sysv::core::ErrnoStatus;

template <typename T>
void Put(absl::Span<uint8_t> out, size_t offset, T value) {
  std::memcpy(out.data() + offset, &value, sizeof(value));
}

template <typename T>
T Get(absl::Span<const uint8_t> in, size_t offset) {
  T value;
  std::memcpy(&value, in.data() + offset, sizeof(value));
  return value;
}

void PutHeader(absl::Span<uint8_t> out, size_t payload, int type) {
  Put<uint32_t>(out, abi::kCmsgLenOffset,
                static_cast<uint32_t>(abi::CmsgLen(payload)));
  Put<int32_t>(out, abi::kCmsgLevelOffset, abi::kSolSocket);
  Put<int32_t>(out, abi::kCmsgTypeOffset, type);
}

}  // namespace

size_t BuildCredsRequest(absl::Span<uint8_t> control) {
  if (control.size() < kCredsControlSize) return 0;
  std::memset(control.data(), 0, kCredsControlSize);
  PutHeader(control, abi::kCmsgcredSize, abi::kScmCreds);
  return kCredsControlSize;
}

size_t BuildRights(absl::Span<uint8_t> control, absl::Span<const int> fds) {
  const size_t size = RightsControlSize(fds.size());
  if (fds.empty() || control.size() < size) return 0;
  std::memset(control.data(), 0, size);
  PutHeader(control, fds.size() * sizeof(int32_t), abi::kScmRights);
  for (size_t i = 0; i < fds.size(); ++i) {
    Put<int32_t>(control, abi::kCmsgDataOffset + i * sizeof(int32_t), fds[i]);
  }
  return size;
}

absl::StatusOr<ParsedControl> ParseControl(absl::Span<const uint8_t> control) {
  ParsedControl parsed;
  // CMSG_FIRSTHDR: no message unless a whole header fits.
  if (control.size() < abi::kCmsghdrSize) return parsed;
  const size_t length = Get<uint32_t>(control, abi::kCmsgLenOffset);
  const int level = Get<int32_t>(control, abi::kCmsgLevelOffset);
  const int type = Get<int32_t>(control, abi::kCmsgTypeOffset);
  if (length < abi::CmsgLen(0) || length > control.size()) {
    return ErrnoStatus(EPROTO, absl::StrCat("control message of length ",
                                            length, " in ", control.size(),
                                            " bytes"));
  }
  const absl::Span<const uint8_t> data =
      control.subspan(abi::kCmsgDataOffset, length - abi::kCmsgDataOffset);
  if (level == abi::kSolSocket && type == abi::kScmRights) {
    // Ours from here on, whatever is decided below.
    for (size_t i = 0; i + sizeof(int32_t) <= data.size(); i += sizeof(int32_t)) {
      parsed.fds.emplace_back(Get<int32_t>(data, i));
    }
  }
  // CMSG_NXTHDR: another message follows if its header fits after this one.
  if (abi::CmsgAlign(length) + abi::kCmsghdrSize <= control.size()) {
    return ErrnoStatus(EPERM,
                       "more than one control message: only the first is "
                       "the kernel's");
  }
  if (level != abi::kSolSocket) {
    return ErrnoStatus(EPROTO, absl::StrCat("control message level ", level));
  }
  switch (type) {
    case abi::kScmRights:
      return parsed;
    case abi::kScmCreds: {
      absl::StatusOr<SenderCredentials> sender = SenderFromCmsgcred(data);
      if (!sender.ok()) return sender.status();
      parsed.sender = *std::move(sender);
      return parsed;
    }
    default:
      return ErrnoStatus(EPROTO, absl::StrCat("control message type ", type));
  }
}

}  // namespace sysv::dragonfly_backend
