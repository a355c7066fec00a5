#include "backends/linux/kernel_ipc_tuning.h"

#include <array>
#include <cerrno>
#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/ipc/errno_status.h"

namespace sysv::linux_backend {
namespace {

// Writes `text` to the sysctl file `path` in one write, as sysctl(8) does.
absl::Status WriteSysctl(const char* path, const std::string& text) {
  std::FILE* file = std::fopen(path, "we");
  if (file == nullptr) return core::ErrnoStatus(errno, absl::StrCat("open ", path));
  const bool written = std::fputs(text.c_str(), file) >= 0;
  const int write_errno = errno;
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed) return core::ErrnoStatus(written ? errno : write_errno, absl::StrCat("write ", path));
  return absl::OkStatus();
}

}  // namespace

absl::Status SetKernelShmmni(int value) {
  return WriteSysctl("/proc/sys/kernel/shmmni", absl::StrCat(value, "\n"));
}

absl::Status SetKernelSemmni(int value) {
  int semmsl = 0, semmns = 0, semopm = 0, semmni = 0;
  std::FILE* file = std::fopen("/proc/sys/kernel/sem", "re");
  if (file == nullptr) return core::ErrnoStatus(errno, "open /proc/sys/kernel/sem");
  const bool parsed = std::fscanf(file, "%d %d %d %d", &semmsl, &semmns, &semopm, &semmni) == 4;
  std::fclose(file);
  if (!parsed) return core::ErrnoStatus(EIO, "/proc/sys/kernel/sem does not parse");
  return WriteSysctl("/proc/sys/kernel/sem", absl::StrCat(semmsl, " ", semmns, " ", semopm, " ", value, "\n"));
}

absl::Status SetKernelMsgmni(int value) {
  return WriteSysctl("/proc/sys/kernel/msgmni", absl::StrCat(value, "\n"));
}

absl::StatusOr<std::array<double, 3>> LoadAverages() {
  std::FILE* file = std::fopen("/proc/loadavg", "re");
  if (file == nullptr) return core::ErrnoStatus(errno, "open /proc/loadavg");
  std::array<double, 3> loads{};
  const bool read = std::fscanf(file, "%lf %lf %lf", &loads[0], &loads[1], &loads[2]) == 3;
  std::fclose(file);
  if (!read) return core::ErrnoStatus(EIO, "/proc/loadavg does not parse");
  return loads;
}

}  // namespace sysv::linux_backend
