#include "core/ipc/errno_status.h"

#include <cerrno>
#include <cstdint>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"

namespace sysv::core {
namespace {

constexpr absl::string_view kErrnoPayloadUrl = "sysv.errno";

absl::StatusCode CodeForErrno(int errnum) {
  switch (errnum) {
    case EINVAL:
    case E2BIG:
    case EFBIG:
    case ERANGE:
      return absl::StatusCode::kInvalidArgument;
    case ENOENT:
    case EIDRM:
      return absl::StatusCode::kNotFound;
    case EEXIST:
      return absl::StatusCode::kAlreadyExists;
    case EACCES:
    case EPERM:
      return absl::StatusCode::kPermissionDenied;
    case ENOSPC:
    case ENOMEM:
      return absl::StatusCode::kResourceExhausted;
    case EAGAIN:
    case EINTR:
      return absl::StatusCode::kUnavailable;
    case ENOSYS:
      return absl::StatusCode::kUnimplemented;
    default:
      return absl::StatusCode::kInternal;
  }
}

int ErrnoForCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 0;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return EINVAL;
    case absl::StatusCode::kNotFound:
      return ENOENT;
    case absl::StatusCode::kAlreadyExists:
      return EEXIST;
    case absl::StatusCode::kPermissionDenied:
      return EACCES;
    case absl::StatusCode::kResourceExhausted:
      return ENOSPC;
    case absl::StatusCode::kUnavailable:
      return EAGAIN;
    case absl::StatusCode::kUnimplemented:
      return ENOSYS;
    default:
      return EIO;
  }
}

}  // namespace

absl::Status ErrnoStatus(int errnum, absl::string_view message) {
  absl::Status status(CodeForErrno(errnum), message);
  status.SetPayload(kErrnoPayloadUrl, absl::Cord(std::to_string(errnum)));
  return status;
}

int ErrnoOf(const absl::Status& status) {
  if (status.ok()) return 0;
  if (auto payload = status.GetPayload(kErrnoPayloadUrl)) {
    int errnum = 0;
    if (absl::SimpleAtoi(std::string(*payload), &errnum) && errnum > 0) {
      return errnum;
    }
  }
  return ErrnoForCode(status.code());
}

}  // namespace sysv::core
