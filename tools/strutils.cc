#include "tools/strutils.h"

#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <clocale>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace sysv::tools {
namespace {

// Multiplies *value by base^power; -ERANGE (value unchanged from the last
// step that fitted) when it overflows. Mirrors do_scale_by_power().
int ScaleByPower(uintmax_t* value, int base, int power) {
  for (; power > 0; --power) {
    if (UINTMAX_MAX / static_cast<uintmax_t>(base) < *value) return -ERANGE;
    *value *= static_cast<uintmax_t>(base);
  }
  return 0;
}

// The index (1-based) of a size suffix letter, 0 if `c` is none.
int SuffixPower(char c) {
  static constexpr char kUpper[] = "KMGTPEZY";
  static constexpr char kLower[] = "kmgtpezy";
  for (int i = 0; kUpper[i] != '\0'; ++i) {
    if (c == kUpper[i] || c == kLower[i]) return i + 1;
  }
  return 0;
}

}  // namespace

std::optional<int32_t> ParseInt32OrWarn(const CommandContext& context,
                                        const char* text, const char* what) {
  int range_errno = 0;
  if (text != nullptr && *text != '\0') {
    char* end = nullptr;
    errno = 0;
    const intmax_t value = std::strtoimax(text, &end, 10);
    const int parse_errno = errno;
    if (parse_errno == 0 && end != text && *end == '\0') {
      if (value >= INT32_MIN && value <= INT32_MAX) {
        return static_cast<int32_t>(value);
      }
      range_errno = ERANGE;
    } else if (parse_errno == ERANGE) {
      range_errno = ERANGE;
    }
  }
  // str2num_or_err(): err() for ERANGE, errx() otherwise.
  if (range_errno != 0) {
    context.Warn(range_errno, "%s: '%s'", what, text);
  } else {
    context.Warnx("%s: '%s'", what, text == nullptr ? "" : text);
  }
  return std::nullopt;
}

int ParseSize(const char* text, uint64_t* result) {
  *result = 0;
  if (text == nullptr || *text == '\0') return -EINVAL;

  // Only positive numbers; strtoumax would negate "-1" silently.
  const char* p = text;
  while (std::isspace(static_cast<unsigned char>(*p))) ++p;
  if (*p == '-') return -EINVAL;

  char* end = nullptr;
  errno = 0;
  uintmax_t value = std::strtoumax(text, &end, 0);
  int parse_errno = errno;
  if (end == text ||
      (parse_errno != 0 && (value == UINTMAX_MAX || value == 0))) {
    return parse_errno != 0 ? -parse_errno : -EINVAL;
  }
  if (*end == '\0') {
    *result = value;
    return 0;
  }

  // The suffix, possibly after a decimal fraction ("1.5KiB").
  int base = 1024;
  uintmax_t fraction = 0;
  int fraction_zeros = 0;
  const char* suffix = end;
  for (;;) {
    // util-linux reads one byte past the terminator when a fraction ends
    // the string ("1.0"); that byte is the next argv string in practice, so
    // the result is "unexpected suffix". Say so without reading it.
    if (*suffix == '\0') return -EINVAL;
    if (suffix[1] == 'i' && (suffix[2] == 'B' || suffix[2] == 'b') &&
        suffix[3] == '\0') {
      base = 1024;
    } else if ((suffix[1] == 'B' || suffix[1] == 'b') && suffix[2] == '\0') {
      base = 1000;
    } else if (suffix[1] != '\0') {
      const struct lconv* locale = std::localeconv();
      const char* point = locale != nullptr ? locale->decimal_point : nullptr;
      const size_t point_length = point != nullptr ? std::strlen(point) : 0;
      if (fraction != 0 || point == nullptr ||
          std::strncmp(point, suffix, point_length) != 0) {
        return -EINVAL;  // Unexpected suffix.
      }
      const char* digits = suffix + point_length;
      while (*digits == '0') {
        ++fraction_zeros;
        ++digits;
      }
      const char* fraction_end = digits;
      if (std::isdigit(static_cast<unsigned char>(*digits))) {
        char* parsed_end = nullptr;
        errno = 0;
        fraction = std::strtoumax(digits, &parsed_end, 0);
        parse_errno = errno;
        if (parsed_end == digits ||
            (parse_errno != 0 &&
             (fraction == UINTMAX_MAX || fraction == 0))) {
          return parse_errno != 0 ? -parse_errno : -EINVAL;
        }
        fraction_end = parsed_end;
      }
      if (fraction != 0 && *fraction_end == '\0') {
        return -EINVAL;  // A fraction without a suffix.
      }
      suffix = fraction_end;
      continue;
    }
    break;
  }

  const int power = SuffixPower(*suffix);
  if (power == 0) return -EINVAL;
  const int rc = ScaleByPower(&value, base, power);

  if (fraction != 0) {
    // What one unit of the suffix is worth, and the divisor of the fraction's
    // last digit (0.05 -> 100, 0.054 -> 1000), as parse_size() computes them.
    uintmax_t unit = 1;
    ScaleByPower(&unit, base, power);
    uintmax_t divisor = 10;
    while (divisor < fraction) {
      if (divisor <= UINTMAX_MAX / 10) {
        divisor *= 10;
      } else {
        fraction /= 10;
      }
    }
    for (int i = 0; i < fraction_zeros; ++i) {
      if (divisor <= UINTMAX_MAX / 10) {
        divisor *= 10;
      } else {
        fraction /= 10;
      }
    }
    // Add each digit's share of a unit, last digit first; integer division
    // per digit, so "1.05K" is 1024 + 1024/20 = 1075.
    uintmax_t position = 1;
    do {
      const unsigned digit = static_cast<unsigned>(fraction % 10);
      const uintmax_t digit_divisor = divisor / position;
      fraction /= 10;
      position *= 10;
      if (digit != 0 && digit_divisor / digit != 0) {
        value += unit / (digit_divisor / digit);
      }
    } while (fraction != 0);
  }
  *result = value;
  return rc;
}

std::optional<uint64_t> ParseSizeOrWarn(const CommandContext& context,
                                        const char* text, const char* what) {
  uint64_t value = 0;
  const int rc = ParseSize(text, &value);
  if (rc == 0) return value;
  context.Warn(-rc, "%s: '%s'", what, text == nullptr ? "" : text);
  return std::nullopt;
}

std::string SizeToHumanString(uint64_t bytes) {
  static constexpr char kLetters[] = "BKMGTPE";
  // The exponent: the largest multiple of 10 (up to 60) with 2^exp <= bytes.
  int exponent = 0;
  while (exponent < 60 && bytes >= (uint64_t{1} << (exponent + 10))) {
    exponent += 10;
  }
  const char letter = kLetters[exponent / 10];
  // util-linux keeps the integer part in an int.
  int integer = static_cast<int>(exponent != 0 ? bytes >> exponent : bytes);
  uint64_t fraction =
      exponent != 0 ? bytes & ((uint64_t{1} << exponent) - 1) : 0;
  if (fraction != 0) {
    // Three digits after the point, then rounded half up to one digit (kept
    // as tens: 0, 10, ..., 100).
    if (fraction >= UINT64_MAX / 1000) {
      fraction = ((fraction / 1024) * 1000) >> (exponent - 10);
    } else {
      fraction = (fraction * 1000) >> exponent;
    }
    fraction = ((fraction + 50) / 100) * 10;
    if (fraction == 100) {
      ++integer;
      fraction = 0;
    }
  }
  if (fraction == 0) return absl::StrCat(integer, std::string(1, letter));
  const struct lconv* locale = std::localeconv();
  const char* point = locale != nullptr && locale->decimal_point != nullptr &&
                              *locale->decimal_point != '\0'
                          ? locale->decimal_point
                          : ".";
  // fraction is 10..90: its tens digit is the one decimal shown.
  return absl::StrCat(integer, point, fraction / 10, std::string(1, letter));
}

}  // namespace sysv::tools
