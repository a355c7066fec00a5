// Number parsing and size formatting as util-linux's lib/strutils.c does them.
//
// The commands must accept the same arguments and print the same messages as
// util-linux 2.38, so these functions reproduce its rules (including its
// quirks, noted per function) rather than using absl::SimpleAtoi.
#ifndef SYSV_TOOLS_STRUTILS_H_
#define SYSV_TOOLS_STRUTILS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "tools/command_context.h"

namespace sysv::tools {

// strtos32_or_err(): a decimal int32 (leading blanks and a sign allowed, as
// strtoimax takes them). On failure prints "<what>: '<text>'" as a warnx, or
// as a warn with ERANGE when the value is out of range, and returns nullopt.
std::optional<int32_t> ParseInt32OrWarn(const CommandContext& context,
                                        const char* text, const char* what);

// parse_size(): an unsigned number in C syntax (0x.., 0..) optionally followed
// by a suffix K M G T P E Z Y (or lower case) for powers of 1024, KiB.. for
// the same, KB.. for powers of 1000, and optionally a decimal fraction before
// the suffix ("1.5K" = 1536, "0.5MB" = 500000). A leading '-' is rejected.
// Returns 0 and sets *result, or a negative errno (-EINVAL, -ERANGE). The
// decimal point is the current locale's, as in util-linux.
int ParseSize(const char* text, uint64_t* result);

// strtosize_or_err(): ParseSize, printing "<what>: '<text>': <strerror>" on
// failure and returning nullopt.
std::optional<uint64_t> ParseSizeOrWarn(const CommandContext& context,
                                        const char* text, const char* what);

// size_to_human_string(SIZE_SUFFIX_1LETTER, bytes): "0B", "1000B", "1.5K",
// "16E"; one decimal, rounded half up, a trailing ".0" dropped.
std::string SizeToHumanString(uint64_t bytes);

}  // namespace sysv::tools

#endif  // SYSV_TOOLS_STRUTILS_H_
