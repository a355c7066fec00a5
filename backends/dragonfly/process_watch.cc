#include "backends/dragonfly/process_watch.h"

#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
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

namespace {

// The record of `pid`, checked to be one whole record of that pid.
absl::StatusOr<std::vector<uint8_t>> ReadRecord(pid_t pid) {
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
  return record;
}

}  // namespace

absl::StatusOr<KinfoProc> ReadKinfo(pid_t pid) {
  absl::StatusOr<std::vector<uint8_t>> record = ReadRecord(pid);
  if (!record.ok()) return record.status();
  absl::StatusOr<KinfoProc> parsed = ParseKinfoProc(*record);
  if (!parsed.ok()) return parsed.status();
  if (parsed->pid != pid) {
    return ErrnoStatus(EIO, absl::StrCat("sysctl kern.proc.pid.", pid,
                                         " answered pid ", parsed->pid));
  }
  return parsed;
}

absl::StatusOr<KinfoOwner> ParseKinfoOwner(absl::Span<const uint8_t> record) {
  if (record.size() < abi::kKpPpidOffset + sizeof(int32_t)) {
    return ErrnoStatus(EINVAL, absl::StrCat("kinfo_proc record of ", record.size(), " bytes"));
  }
  return KinfoOwner{Get<uint32_t>(record, abi::kKpUidOffset), Get<int32_t>(record, abi::kKpPpidOffset)};
}

absl::StatusOr<ProcStat> ReadProcStat(pid_t pid) {
  absl::StatusOr<std::vector<uint8_t>> record = ReadRecord(pid);
  if (!record.ok()) return record.status();
  absl::StatusOr<KinfoProc> process = ParseKinfoProc(*record);
  if (!process.ok()) return process.status();
  if (process->pid != pid) return ErrnoStatus(EIO, absl::StrCat("kinfo_proc of ", pid, " names ", process->pid));
  absl::StatusOr<KinfoOwner> owner = ParseKinfoOwner(*record);
  if (!owner.ok()) return owner.status();
  return ProcStat{process->stat, process->start_time_us, owner->ppid};
}

absl::StatusOr<uid_t> ProcessEffectiveUid(pid_t pid) {
  absl::StatusOr<std::vector<uint8_t>> record = ReadRecord(pid);
  if (!record.ok()) return record.status();
  absl::StatusOr<KinfoOwner> owner = ParseKinfoOwner(*record);
  if (!owner.ok()) return owner.status();
  return static_cast<uid_t>(owner->euid);
}

bool IsThreadOf(pid_t pid, pid_t tid) {
  if (pid <= 0 || tid <= 0) return false;
  const size_t size = KinfoProcSize();
  if (size < abi::kKinfoLwpMinSize) return false;
  std::vector<uint8_t> records;
  for (size_t count = 16; count <= 4096; count *= 2) {
    records.resize(count * size);
    size_t length = records.size();
    if (ReadKinfoLwps(pid, records.data(), &length) == 0) {
      for (size_t at = 0; at + size <= length; at += size) {
        if (Get<int32_t>(absl::MakeConstSpan(records).subspan(at), abi::kKpLwpTidOffset) == tid) return true;
      }
      return false;
    }
    if (errno != ENOMEM) return false;
  }
  return false;
}

absl::StatusOr<uint64_t> ParseProcfsMemlock(absl::string_view text) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields.size() != 3 || fields[0] != "memlock") continue;
    if (fields[1] == "-1") return UINT64_MAX;
    uint64_t limit;
    if (!absl::SimpleAtoi(fields[1], &limit)) break;
    return limit;
  }
  return ErrnoStatus(EINVAL, "no memlock line in procfs rlimit");
}

absl::StatusOr<uint64_t> ProcessMemlockLimit(pid_t pid) {
  if (pid <= 0) return ErrnoStatus(EINVAL, absl::StrCat("bad pid ", pid));
  char text[1024];
  const ssize_t got = ReadProcfsRlimit(pid, text, sizeof(text));
  if (got < 0) return ErrnoStatus(errno, absl::StrCat("/proc/", pid, "/rlimit"));
  return ParseProcfsMemlock(absl::string_view(text, static_cast<size_t>(got)));
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
