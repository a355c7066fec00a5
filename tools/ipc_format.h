// Output helpers shared by the ipcs formats: times, user and group names,
// sizes, and the creator/owner columns, printed as util-linux 2.38 prints
// them (sys-utils/ipcutils.c and ipcs.c).
#ifndef SYSV_TOOLS_IPC_FORMAT_H_
#define SYSV_TOOLS_IPC_FORMAT_H_

#include <sys/types.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

namespace sysv::tools {

// How ipcs prints sizes (util-linux's IPC_UNIT_*).
enum class SizeUnit { kDefault, kBytes, kKilobytes, kHuman };

// ctime_r(): "Thu Nov 26 06:29:18 2026\n" in local time. When the time cannot
// be converted, "(null)", which is what glibc's printf shows for the NULL
// that util-linux would pass.
std::string CtimeText(int64_t seconds);

// The same, starting at the month ("Nov 26 06:29:18 2026\n"), as util-linux's
// "ctime + 4" in the -t tables.
std::string CtimeTextWithoutWeekday(int64_t seconds);

// getpwuid()/getgrgid() names, nullopt when there is no entry.
std::optional<std::string> UserName(uid_t uid);
std::optional<std::string> GroupName(gid_t gid);

// ipc_print_size(): prints `label` (if not null) then `size` in `unit`, then
// `end` (if not null), to `out`. A label ending in '=' is printed as is;
// otherwise it gets " (bytes) = ", " (kbytes) = " or " = " after it. The
// number is printed with printf width `width` (negative: left-aligned).
void PrintSize(std::FILE* out, SizeUnit unit, const char* label, uint64_t size,
               const char* end, int width);

// The permission and ownership columns of `ipcs -c` (ipc_print_perms()):
// "%-10d %-10o" id and mode, then cuid, cgid, uid and gid as names or
// numbers, each " %-10s", then a newline.
void PrintCreatorColumns(std::FILE* out, int id, unsigned mode, uid_t cuid,
                         gid_t cgid, uid_t uid, gid_t gid);

}  // namespace sysv::tools

#endif  // SYSV_TOOLS_IPC_FORMAT_H_
