#include "backends/linux/proc_stat.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>

namespace sysv::linux_backend {

std::optional<ProcStatLine> ParseProcStatLine(std::string_view stat) {
  const size_t open = stat.find('(');
  const size_t close = stat.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return std::nullopt;
  }
  ProcStatLine parsed;
  const std::string_view head = stat.substr(0, open);
  if (std::from_chars(head.data(), head.data() + head.size(), parsed.tid).ec != std::errc()) {
    return std::nullopt;
  }
  // Fields 3 (state) to 22 (starttime), separated by single spaces. The
  // file ends with a newline, which from_chars leaves after a last field.
  std::string_view rest = stat.substr(close + 1);
  for (int field = 3; field <= 22; ++field) {
    if (rest.size() < 2 || rest[0] != ' ') return std::nullopt;
    rest.remove_prefix(1);
    const size_t end = std::min(rest.find(' '), rest.size());
    const std::string_view value = rest.substr(0, end);
    if (field == 3) {
      if (value.size() != 1) return std::nullopt;
      parsed.state = value[0];
    } else if (field == 4) {
      if (std::from_chars(value.data(), value.data() + value.size(), parsed.ppid).ec != std::errc()) {
        return std::nullopt;
      }
    } else if (field == 22) {
      if (std::from_chars(value.data(), value.data() + value.size(), parsed.start_ticks).ec !=
          std::errc()) {
        return std::nullopt;
      }
    }
    rest.remove_prefix(end);
  }
  return parsed;
}

}  // namespace sysv::linux_backend
