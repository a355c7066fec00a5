#include "core/ipc/proc_format.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace sysv::core {
namespace {

// The headers of a 64-bit kernel (BITS_PER_LONG > 32: sizes in 21 columns).
constexpr char kShmHeader[] =
    "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid"
    "      atime      dtime      ctime                   rss                  swap\n";
constexpr char kSemHeader[] =
    "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n";
constexpr char kMsgHeader[] =
    "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid"
    "      stime      rtime      ctime\n";

// The kernel prints pids with %u and time64_t with %llu.
uint32_t U(int32_t value) { return static_cast<uint32_t>(value); }
uint64_t U(int64_t value) { return static_cast<uint64_t>(value); }

}  // namespace

std::string ShmProcText(absl::Span<const ShmProcRow> rows) {
  std::string text = kShmHeader;
  for (const ShmProcRow& r : rows) {
    absl::StrAppendFormat(&text,
                          "%10d %10d  %4o %21u %5u %5u  %5u %5u %5u %5u %5u %10u %10u %10u %21u %21u\n",
                          r.perm.key, r.perm.id, r.perm.mode, r.segsz, U(r.cpid), U(r.lpid), r.nattch,
                          r.perm.uid, r.perm.gid, r.perm.cuid, r.perm.cgid,
                          U(r.atime), U(r.dtime), U(r.ctime), r.rss, r.swap);
  }
  return text;
}

std::string SemProcText(absl::Span<const SemProcRow> rows) {
  std::string text = kSemHeader;
  for (const SemProcRow& r : rows) {
    absl::StrAppendFormat(&text, "%10d %10d  %4o %10u %5u %5u %5u %5u %10u %10u\n", r.perm.key, r.perm.id,
                          r.perm.mode, r.nsems, r.perm.uid, r.perm.gid, r.perm.cuid, r.perm.cgid, U(r.otime),
                          U(r.ctime));
  }
  return text;
}

std::string MsgProcText(absl::Span<const MsgProcRow> rows) {
  std::string text = kMsgHeader;
  for (const MsgProcRow& r : rows) {
    absl::StrAppendFormat(&text, "%10d %10d  %4o  %10u %10u %5u %5u %5u %5u %5u %5u %10u %10u %10u\n", r.perm.key,
                          r.perm.id, r.perm.mode, r.cbytes, r.qnum, U(r.lspid), U(r.lrpid), r.perm.uid,
                          r.perm.gid, r.perm.cuid, r.perm.cgid,
                          U(r.stime), U(r.rtime), U(r.ctime));
  }
  return text;
}

std::string UnsignedSysctlText(absl::Span<const uint64_t> values) {
  return absl::StrCat(absl::StrJoin(values, "\t"), "\n");
}

std::string IntSysctlText(absl::Span<const int64_t> values) {
  return absl::StrCat(absl::StrJoin(values, "\t"), "\n");
}

}  // namespace sysv::core
