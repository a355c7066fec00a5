#include "tools/ipc_format.h"

#include <grp.h>
#include <pwd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/strings/str_format.h"
#include "tools/strutils.h"

namespace sysv::tools {
namespace {

size_t NameBufferSize(int sysconf_name) {
  const long size = sysconf(sysconf_name);
  return size > 0 ? static_cast<size_t>(size) : 16384;
}

}  // namespace

std::string CtimeText(int64_t seconds) {
  const time_t t = static_cast<time_t>(seconds);
  char buffer[64];  // ctime_r needs 26; util-linux's CTIME_BUFSIZ is 26 too.
  if (ctime_r(&t, buffer) == nullptr) return "(null)";
  return buffer;
}

std::string CtimeTextWithoutWeekday(int64_t seconds) {
  std::string text = CtimeText(seconds);
  // util-linux adds 4 to a pointer that may be NULL; show "(null)" instead
  // of crashing.
  if (text.size() < 4 || text == "(null)") return text;
  return text.substr(4);
}

std::optional<std::string> UserName(uid_t uid) {
  std::vector<char> buffer(NameBufferSize(_SC_GETPW_R_SIZE_MAX));
  for (;;) {
    struct passwd entry;
    struct passwd* found = nullptr;
    const int rc =
        getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found);
    if (rc == ERANGE && buffer.size() < (1u << 20)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (rc != 0 || found == nullptr) return std::nullopt;
    return std::string(found->pw_name);
  }
}

std::optional<std::string> GroupName(gid_t gid) {
  std::vector<char> buffer(NameBufferSize(_SC_GETGR_R_SIZE_MAX));
  for (;;) {
    struct group entry;
    struct group* found = nullptr;
    const int rc =
        getgrgid_r(gid, &entry, buffer.data(), buffer.size(), &found);
    if (rc == ERANGE && buffer.size() < (1u << 20)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (rc != 0 || found == nullptr) return std::nullopt;
    return std::string(found->gr_name);
  }
}

void PrintSize(std::FILE* out, SizeUnit unit, const char* label, uint64_t size,
               const char* end, int width) {
  if (label != nullptr) {
    const size_t length = std::strlen(label);
    if (length > 0 && label[length - 1] == '=') {
      absl::FPrintF(out, "%s", label);
    } else if (unit == SizeUnit::kBytes) {
      absl::FPrintF(out, "%s (bytes) = ", label);
    } else if (unit == SizeUnit::kKilobytes) {
      absl::FPrintF(out, "%s (kbytes) = ", label);
    } else {
      absl::FPrintF(out, "%s = ", label);
    }
  }
  switch (unit) {
    case SizeUnit::kDefault:
    case SizeUnit::kBytes:
      absl::FPrintF(out, "%*u", width, size);
      break;
    case SizeUnit::kKilobytes:
      absl::FPrintF(out, "%*u", width, size / 1024);
      break;
    case SizeUnit::kHuman:
      absl::FPrintF(out, "%*s", width, SizeToHumanString(size));
      break;
  }
  if (end != nullptr) absl::FPrintF(out, "%s", end);
}

void PrintCreatorColumns(std::FILE* out, int id, unsigned mode, uid_t cuid,
                         gid_t cgid, uid_t uid, gid_t gid) {
  absl::FPrintF(out, "%-10d %-10o", id, mode & 0777);
  const auto user = [out](uid_t value) {
    if (std::optional<std::string> name = UserName(value)) {
      absl::FPrintF(out, " %-10s", *name);
    } else {
      absl::FPrintF(out, " %-10u", value);
    }
  };
  const auto group = [out](gid_t value) {
    if (std::optional<std::string> name = GroupName(value)) {
      absl::FPrintF(out, " %-10s", *name);
    } else {
      absl::FPrintF(out, " %-10u", value);
    }
  };
  user(cuid);
  group(cgid);
  user(uid);
  group(gid);
  absl::FPrintF(out, "\n");
}

}  // namespace sysv::tools
