#include "backends/dragonfly/process_watch.h"

#include <sys/types.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "backends/dragonfly/dragonfly_abi.h"
#include "backends/dragonfly/kinfo_sys.h"
#include "core/ipc/errno_status.h"

namespace sysv::dragonfly_backend {
namespace {

using ::sysv::core::ErrnoStatus;

template <typename T>
T Get(absl::Span<const uint8_t> record, size_t offset) {
  T value;
  std::memcpy(&value, record.data() + offset, sizeof(value));
  return value;
}

}  // namespace

absl::StatusOr<KinfoProc> ParseKinfoProc(absl::Span<const uint8_t> record) {
  if (record.size() < abi::kKinfoProcMinSize) {
    return ErrnoStatus(EINVAL, absl::StrCat("kinfo_proc record of ",
                                            record.size(), " bytes"));
  }
  KinfoProc result;
  result.pid = Get<int32_t>(record, abi::kKpPidOffset);
  result.stat = Get<int32_t>(record, abi::kKpStatOffset);
  if (result.stat < abi::kSidl || result.stat > abi::kScore) {
    return ErrnoStatus(EINVAL, absl::StrCat("kinfo_proc: kp_stat ", result.stat));
  }
  const int64_t seconds = Get<int64_t>(record, abi::kKpStartSecOffset);
  const int64_t micros = Get<int64_t>(record, abi::kKpStartUsecOffset);
  // 2^63 microseconds is 292,000 years: a larger tv_sec is garbage.
  if (seconds < 0 || seconds > INT64_MAX / 1'000'000 - 1 || micros < 0 ||
      micros >= 1'000'000) {
    return ErrnoStatus(EINVAL, absl::StrCat("kinfo_proc: kp_start ", seconds,
                                            " s ", micros, " us"));
  }
  result.start_time_us =
      static_cast<uint64_t>(seconds) * 1'000'000 + static_cast<uint64_t>(micros);
  return result;
}

absl::StatusOr<KinfoProc> ReadKinfo(pid_t pid) {
  if (pid <= 0) return ErrnoStatus(EINVAL, absl::StrCat("bad pid ", pid));
  std::vector<uint8_t> record(KinfoProcSize());
  size_t length = record.size();
  if (ReadKinfoProc(pid, record.data(), &length) != 0) {
    return ErrnoStatus(errno, absl::StrCat("sysctl kern.proc.pid.", pid));
  }
  if (length == 0) return ErrnoStatus(ESRCH, absl::StrCat("no process ", pid));
  if (length != record.size()) {
    return ErrnoStatus(EIO, absl::StrCat("sysctl kern.proc.pid.", pid, ": ",
                                         length, " bytes, expected ",
                                         record.size()));
  }
  absl::StatusOr<KinfoProc> parsed = ParseKinfoProc(record);
  if (!parsed.ok()) return parsed.status();
  if (parsed->pid != pid) {
    return ErrnoStatus(EIO, absl::StrCat("sysctl kern.proc.pid.", pid,
                                         " answered pid ", parsed->pid));
  }
  return parsed;
}

absl::StatusOr<uint64_t> ProcessStartTime(pid_t pid) {
  absl::StatusOr<KinfoProc> info = ReadKinfo(pid);
  if (!info.ok()) return info.status();
  return info->start_time_us;
}

bool ProcessAlive(pid_t pid, uint64_t start_time) {
  absl::StatusOr<KinfoProc> info = ReadKinfo(pid);
  return info.ok() && info->start_time_us == start_time &&
         info->stat != abi::kSzomb;
}

}  // namespace sysv::dragonfly_backend
