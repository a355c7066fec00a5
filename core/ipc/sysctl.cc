#include "core/ipc/sysctl.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <initializer_list>

#include "absl/types/span.h"
#include "core/ipc/ipc_id.h"
#include "core/ipc/proc_format.h"

namespace sysv::core {
namespace {

// kernel/sysctl.c TMPBUFLEN - 1: the longest number proc_get_long() reads;
// one that long is refused (it may have been cut).
constexpr size_t kMaxNumberLength = 21;

// isspace() of the kernel's ctype, which proc_skip_spaces() skips.
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }
// proc_wspace_sep: what may follow a number.
bool IsSeparator(char c) { return c == ' ' || c == '\t' || c == '\n'; }

int DigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 99;
}

// The text being written and how far the handler has read it.
struct Cursor {
  absl::string_view text;
  size_t pos = 0;
  size_t left() const { return text.size() - pos; }
  void SkipSpaces() {
    while (pos < text.size() && IsSpace(text[pos])) ++pos;
  }
};

struct Number {
  uint64_t magnitude = 0;
  bool negative = false;
};

// proc_get_long(): an optional '-', then digits as simple_strtoul(base 0)
// reads them (0x: hex, 0: octal), followed by a separator or the end.
// EINVAL for anything else, an overflow, or a number kMaxNumberLength long.
int GetNumber(Cursor& cursor, Number* out) {
  const absl::string_view token = cursor.text.substr(cursor.pos, std::min(cursor.left(), kMaxNumberLength));
  size_t p = 0;
  out->negative = !token.empty() && token[0] == '-';
  if (out->negative) ++p;
  if (p >= token.size() || token[p] < '0' || token[p] > '9') return EINVAL;
  // _parse_integer_fixup_radix()
  int base = 10;
  if (token[p] == '0') {
    base = 8;
    if (p + 2 < token.size() && (token[p + 1] == 'x' || token[p + 1] == 'X') && DigitValue(token[p + 2]) < 16) {
      base = 16;
      p += 2;
    }
  }
  bool overflow = false;
  uint64_t value = 0;
  for (; p < token.size() && DigitValue(token[p]) < base; ++p) {
    const uint64_t digit = static_cast<uint64_t>(DigitValue(token[p]));
    if (value > (UINT64_MAX - digit) / static_cast<uint64_t>(base)) overflow = true;
    value = value * static_cast<uint64_t>(base) + digit;
  }
  if (overflow || p == kMaxNumberLength) return EINVAL;
  if (p < cursor.left() && !IsSeparator(cursor.text[cursor.pos + p])) return EINVAL;
  cursor.pos += p;
  out->magnitude = value;
  return 0;
}

// The shape of __do_proc_dointvec() and __do_proc_doulongvec_minmax()'s
// write: up to `count` values, each converted and stored by `store(i,
// number)` (which returns 0 or the errno), the first error ending the write.
template <typename Store>
SysctlWriteResult WriteVector(absl::string_view text, size_t count, Store store) {
  // proc_dointvec(): "if (!*lenp) return 0".
  if (text.empty()) return {};
  Cursor cursor{text};
  bool first = true;
  int error = 0;
  for (size_t i = 0; cursor.left() != 0 && i < count; ++i, first = false) {
    cursor.SkipSpaces();
    if (cursor.left() == 0) break;
    Number number;
    if ((error = GetNumber(cursor, &number)) != 0) break;
    if ((error = store(i, number)) != 0) break;
  }
  if (error == 0 && cursor.left() != 0) cursor.SkipSpaces();
  if (first) return {error != 0 ? error : EINVAL, 0};
  return {error, error != 0 ? 0 : cursor.pos};
}

// do_proc_dointvec_conv() then the minmax check: an int in [min, max].
int StoreInt(const Number& number, int64_t min, int64_t max, int32_t* out) {
  const uint64_t limit = number.negative ? uint64_t{INT_MAX} + 1 : uint64_t{INT_MAX};
  if (number.magnitude > limit) return EINVAL;
  const int64_t value =
      number.negative ? -static_cast<int64_t>(number.magnitude) : static_cast<int64_t>(number.magnitude);
  if (value < min || value > max) return EINVAL;
  *out = static_cast<int32_t>(value);
  return 0;
}

// proc_dointvec_minmax() over one int.
SysctlWriteResult WriteInt(absl::string_view text, int64_t min, int64_t max, int32_t* out) {
  return WriteVector(text, 1, [&](size_t, const Number& number) { return StoreInt(number, min, max, out); });
}

// proc_doulongvec_minmax() over one unsigned long, without bounds.
SysctlWriteResult WriteUlong(absl::string_view text, uint64_t* out) {
  return WriteVector(text, 1, [&](size_t, const Number& number) {
    if (number.negative) return EINVAL;
    *out = number.magnitude;
    return 0;
  });
}

// proc_ipc_sem_dointvec(): proc_dointvec() over the four, then SEMMNI's
// range; on any error SEMMNI gets its old value back (the others do not).
SysctlWriteResult WriteSem(absl::string_view text, SemLimits& sem) {
  int32_t* const values[] = {&sem.semmsl, &sem.semmns, &sem.semopm, &sem.semmni};
  const int32_t semmni = sem.semmni;
  SysctlWriteResult result = WriteVector(text, 4, [&](size_t i, const Number& number) {
    return StoreInt(number, INT_MIN, INT_MAX, values[i]);
  });
  // sem_check_semmni()
  if (result.error == 0 && (sem.semmni < 0 || sem.semmni > kIpcMni)) result = {ERANGE, 0};
  if (result.error != 0) sem.semmni = semmni;
  return result;
}

std::string IntText(std::initializer_list<int64_t> values) {
  return IntSysctlText(absl::MakeConstSpan(values.begin(), values.size()));
}

}  // namespace

int SysctlWriteError(Sysctl file, const Credentials& creds) {
  if (IsNextIdSysctl(file)) return creds.cap_sys_admin || creds.cap_checkpoint_restore ? 0 : EACCES;
  return creds.uid == 0 ? 0 : EACCES;
}

SysctlWriteResult WriteSysctl(Sysctl file, absl::string_view text, NamespaceLimits& limits, NextIds& next_ids) {
  switch (file) {
    case Sysctl::kShmmax:
      return WriteUlong(text, &limits.shm.shmmax);
    case Sysctl::kShmall:
      return WriteUlong(text, &limits.shm.shmall);
    case Sysctl::kShmmni:
      return WriteInt(text, 0, kIpcMni, &limits.shm.shmmni);
    case Sysctl::kSem:
      return WriteSem(text, limits.sem);
    case Sysctl::kMsgmax:
      return WriteInt(text, 0, INT_MAX, &limits.msg.msgmax);
    case Sysctl::kMsgmnb:
      return WriteInt(text, 0, INT_MAX, &limits.msg.msgmnb);
    case Sysctl::kMsgmni:
      return WriteInt(text, 0, kIpcMni, &limits.msg.msgmni);
    case Sysctl::kShmNextId:
      return WriteInt(text, 0, INT_MAX, &next_ids.shm);
    case Sysctl::kSemNextId:
      return WriteInt(text, 0, INT_MAX, &next_ids.sem);
    case Sysctl::kMsgNextId:
      return WriteInt(text, 0, INT_MAX, &next_ids.msg);
  }
  return {EINVAL, 0};
}

std::string ReadSysctl(Sysctl file, const NamespaceLimits& limits, const NextIds& next_ids) {
  switch (file) {
    case Sysctl::kShmmax: {
      const uint64_t values[] = {limits.shm.shmmax};
      return UnsignedSysctlText(values);
    }
    case Sysctl::kShmall: {
      const uint64_t values[] = {limits.shm.shmall};
      return UnsignedSysctlText(values);
    }
    case Sysctl::kShmmni:
      return IntText({limits.shm.shmmni});
    case Sysctl::kSem:
      return IntText({limits.sem.semmsl, limits.sem.semmns, limits.sem.semopm, limits.sem.semmni});
    case Sysctl::kMsgmax:
      return IntText({limits.msg.msgmax});
    case Sysctl::kMsgmnb:
      return IntText({limits.msg.msgmnb});
    case Sysctl::kMsgmni:
      return IntText({limits.msg.msgmni});
    case Sysctl::kShmNextId:
      return IntText({next_ids.shm});
    case Sysctl::kSemNextId:
      return IntText({next_ids.sem});
    case Sysctl::kMsgNextId:
      return IntText({next_ids.msg});
  }
  return std::string();
}

}  // namespace sysv::core
