#include "tools/ipcs_command.h"

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "tools/command_context.h"
#include "tools/ipc_format.h"
#include "tools/ipc_objects.h"
#include "tools/option_parser.h"
#include "tools/strutils.h"

namespace sysv::tools {
namespace {

// SHM_DEST and SHM_LOCKED are kernel-only in the uapi headers.
constexpr unsigned kShmDest = 01000;
constexpr unsigned kShmLocked = 02000;

enum class Format { kDefault, kLimits, kStatus, kCreator, kTime, kPid };

constexpr int kOptionHuman = 256;
constexpr int kOptionJson = 257;

// util-linux's table, in its order (the order matters for the ambiguity
// message), plus --json.
constexpr LongOption kLongOptions[] = {
    {"id", ArgumentKind::kRequired, 'i'},
    {"queues", ArgumentKind::kNone, 'q'},
    {"shmems", ArgumentKind::kNone, 'm'},
    {"semaphores", ArgumentKind::kNone, 's'},
    {"all", ArgumentKind::kNone, 'a'},
    {"time", ArgumentKind::kNone, 't'},
    {"pid", ArgumentKind::kNone, 'p'},
    {"creator", ArgumentKind::kNone, 'c'},
    {"limits", ArgumentKind::kNone, 'l'},
    {"summary", ArgumentKind::kNone, 'u'},
    {"human", ArgumentKind::kNone, kOptionHuman},
    {"bytes", ArgumentKind::kNone, 'b'},
    {"version", ArgumentKind::kNone, 'V'},
    {"help", ArgumentKind::kNone, 'h'},
    {"json", ArgumentKind::kNone, kOptionJson},
};

constexpr char kShortOptions[] = "i:qmsatpclubVh";

void PrintUsage(const CommandContext& context) {
  std::FILE* out = context.out();
  const std::string& name = context.name();
  absl::FPrintF(out, "\nUsage:\n");
  absl::FPrintF(out,
                " %s [resource-option...] [output-option]\n"
                " %s -m|-q|-s -i <id>\n",
                name, name);
  absl::FPrintF(out, "\nShow information on IPC facilities.\n");
  absl::FPrintF(out, "\nOptions:\n");
  absl::FPrintF(out,
                " -i, --id <id>  print details on resource identified by "
                "<id>\n");
  absl::FPrintF(out, "%-16s%s\n%-16s%s\n", " -h, --help", "display this help",
                " -V, --version", "display version");
  absl::FPrintF(out, "\nResource options:\n");
  absl::FPrintF(out, " -m, --shmems      shared memory segments\n");
  absl::FPrintF(out, " -q, --queues      message queues\n");
  absl::FPrintF(out, " -s, --semaphores  semaphores\n");
  absl::FPrintF(out, " -a, --all         all (default)\n");
  absl::FPrintF(out, "\nOutput options:\n");
  absl::FPrintF(out, " -t, --time        show attach, detach and change times\n");
  absl::FPrintF(out, " -p, --pid         show PIDs of creator and last operator\n");
  absl::FPrintF(out, " -c, --creator     show creator and owner\n");
  absl::FPrintF(out, " -l, --limits      show resource limits\n");
  absl::FPrintF(out, " -u, --summary     show status summary\n");
  absl::FPrintF(out, "     --human       show sizes in human-readable format\n");
  absl::FPrintF(out, " -b, --bytes       show sizes in bytes\n");
  absl::FPrintF(out, "     --json        print the objects as JSON (libsysv)\n");
  absl::FPrintF(out, "\nFor more details see ipcs(1).\n");
}

// "%-<width>d %-10.10s": the id, then the owner's name cut to 10 columns, or
// "%-<width>d %-10u" with the uid when the owner has no name.
void PrintIdAndOwner(std::FILE* out, int id_width, int id, uid_t uid) {
  if (std::optional<std::string> name = UserName(uid)) {
    absl::FPrintF(out, "%-*d %-10.10s", id_width, id, *name);
  } else {
    absl::FPrintF(out, "%-*d %-10u", id_width, id, uid);
  }
}

// "Not set" or the ctime() text, cut by the caller's precision.
std::string TimeOrNotSet(int64_t seconds) {
  return seconds != 0 ? CtimeText(seconds) : std::string("Not set");
}
std::string ShortTimeOrNotSet(int64_t seconds) {
  return seconds != 0 ? CtimeTextWithoutWeekday(seconds)
                      : std::string("Not set");
}

// JSON helpers.
void AppendJsonString(std::string* json, absl::string_view text) {
  json->push_back('"');
  for (const char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        json->append("\\\"");
        break;
      case '\\':
        json->append("\\\\");
        break;
      case '\n':
        json->append("\\n");
        break;
      case '\t':
        json->append("\\t");
        break;
      default:
        if (u < 0x20) {
          absl::StrAppendFormat(json, "\\u%04x", u);
        } else {
          json->push_back(c);
        }
    }
  }
  json->push_back('"');
}

void AppendOwnership(std::string* json, const IpcOwnership& perm) {
  absl::StrAppend(json, "{\"key\":", static_cast<uint32_t>(perm.key),
                  ",\"id\":", perm.id, ",\"owner\":");
  std::optional<std::string> owner = UserName(perm.uid);
  AppendJsonString(json, owner ? *owner : absl::StrCat(perm.uid));
  absl::StrAppendFormat(json, ",\"perms\":\"%o\"", perm.mode & 0777);
}

void AppendCredentials(std::string* json, const IpcOwnership& perm) {
  absl::StrAppend(json, ",\"cuid\":", perm.cuid, ",\"cgid\":", perm.cgid,
                  ",\"uid\":", perm.uid, ",\"gid\":", perm.gid);
}

std::string ShmJson(const ShmSegment& shm) {
  std::string json;
  AppendOwnership(&json, shm.perm);
  absl::StrAppend(&json, ",\"bytes\":", shm.segsz, ",\"nattch\":", shm.nattch,
                  ",\"status\":[");
  const char* separator = "";
  if (shm.perm.mode & kShmDest) {
    absl::StrAppend(&json, separator, "\"dest\"");
    separator = ",";
  }
  if (shm.perm.mode & kShmLocked) absl::StrAppend(&json, separator, "\"locked\"");
  json.append("]");
  AppendCredentials(&json, shm.perm);
  absl::StrAppend(&json, ",\"cpid\":", shm.cpid, ",\"lpid\":", shm.lpid,
                  ",\"atime\":", shm.atime, ",\"dtime\":", shm.dtime,
                  ",\"ctime\":", shm.ctime, "}");
  return json;
}

std::string SemJson(const SemSet& sem, bool with_elements) {
  std::string json;
  AppendOwnership(&json, sem.perm);
  absl::StrAppend(&json, ",\"nsems\":", sem.nsems);
  AppendCredentials(&json, sem.perm);
  absl::StrAppend(&json, ",\"otime\":", sem.otime, ",\"ctime\":", sem.ctime);
  if (with_elements) {
    json.append(",\"semaphores\":[");
    for (size_t i = 0; i < sem.elements.size(); ++i) {
      const SemElement& e = sem.elements[i];
      absl::StrAppend(&json, i == 0 ? "" : ",", "{\"semnum\":", i,
                      ",\"value\":", e.value, ",\"ncount\":", e.ncount,
                      ",\"zcount\":", e.zcount, ",\"pid\":", e.pid, "}");
    }
    json.append("]");
  }
  json.append("}");
  return json;
}

std::string MsgJson(const MsgQueue& msg) {
  std::string json;
  AppendOwnership(&json, msg.perm);
  absl::StrAppend(&json, ",\"used_bytes\":", msg.cbytes,
                  ",\"messages\":", msg.qnum, ",\"qbytes\":", msg.qbytes);
  AppendCredentials(&json, msg.perm);
  absl::StrAppend(&json, ",\"lspid\":", msg.lspid, ",\"lrpid\":", msg.lrpid,
                  ",\"stime\":", msg.stime, ",\"rtime\":", msg.rtime,
                  ",\"ctime\":", msg.ctime, "}");
  return json;
}

void AppendJsonArray(std::string* json, const char* name,
                     const std::vector<std::string>& items, bool* first) {
  absl::StrAppend(json, *first ? "" : ",\n", "\"", name, "\": [");
  *first = false;
  for (size_t i = 0; i < items.size(); ++i) {
    absl::StrAppend(json, i == 0 ? "\n  " : ",\n  ", items[i]);
  }
  absl::StrAppend(json, items.empty() ? "]" : "\n]");
}

class Ipcs {
 public:
  Ipcs(const IpcApi& api, const CommandContext& context, Format format,
       SizeUnit unit)
      : api_(api), context_(context), out_(context.out()), format_(format),
        unit_(unit) {}

  void ShowShm();
  void ShowSem();
  void ShowMsg();
  void ShowOneShm(int id);
  // Returns false if reading the set failed (message printed).
  bool ShowOneSem(int id);
  void ShowOneMsg(int id);
  // Returns the exit status.
  int ShowJson(bool shm, bool sem, bool msg, std::optional<int> id);

 private:
  const IpcApi& api_;
  const CommandContext& context_;
  std::FILE* const out_;
  const Format format_;
  const SizeUnit unit_;
};

// do_shm()
void Ipcs::ShowShm() {
  switch (format_) {
    case Format::kLimits: {
      const std::optional<ShmLimits> limits = GetShmLimits(api_);
      if (!limits) {
        absl::FPrintF(out_, "unable to fetch shared memory limits\n");
        return;
      }
      const uint64_t page_size = static_cast<uint64_t>(getpagesize());
      absl::FPrintF(out_, "------ Shared Memory Limits --------\n");
      absl::FPrintF(out_, "max number of segments = %u\n", limits->shmmni);
      PrintSize(out_, unit_ == SizeUnit::kDefault ? SizeUnit::kKilobytes : unit_,
                "max seg size", limits->shmmax, "\n", 0);
      // shmall is in pages; on overflow util-linux prints the largest
      // multiple of the factor rather than a wrapped value.
      if (unit_ == SizeUnit::kKilobytes || unit_ == SizeUnit::kDefault) {
        const uint64_t factor = page_size / 1024;
        uint64_t total = limits->shmall * factor;
        if (limits->shmall != 0 && total / limits->shmall != factor) {
          total = UINT64_MAX - (UINT64_MAX % factor);
        }
        PrintSize(out_, SizeUnit::kDefault, "max total shared memory (kbytes)",
                  total, "\n", 0);
      } else {
        uint64_t total = limits->shmall * page_size;
        if (limits->shmall != 0 && total / limits->shmall != page_size) {
          total = UINT64_MAX - (UINT64_MAX % page_size);
        }
        PrintSize(out_, unit_, "max total shared memory", total, "\n", 0);
      }
      PrintSize(out_, unit_ == SizeUnit::kDefault ? SizeUnit::kBytes : unit_,
                "min seg size", limits->shmmin, "\n", 0);
      return;
    }
    case Format::kStatus: {
      const std::optional<ShmUsage> info = GetShmInfo(api_);
      if (!info) {
        absl::FPrintF(out_, "kernel not configured for shared memory\n");
        return;
      }
      absl::FPrintF(out_, "------ Shared Memory Status --------\n");
      // printf's %ld of unsigned long fields, as util-linux prints them.
      absl::FPrintF(out_,
                    "segments allocated %d\n"
                    "pages allocated %d\n"
                    "pages resident  %d\n"
                    "pages swapped   %d\n"
                    "Swap performance: %d attempts\t %d successes\n",
                    info->used_ids, static_cast<long>(info->shm_tot),
                    static_cast<long>(info->shm_rss),
                    static_cast<long>(info->shm_swp),
                    static_cast<long>(info->swap_attempts),
                    static_cast<long>(info->swap_successes));
      return;
    }
    case Format::kCreator:
      absl::FPrintF(out_,
                    "------ Shared Memory Segment Creators/Owners --------\n");
      absl::FPrintF(out_, "%-10s %-10s %-10s %-10s %-10s %-10s\n", "shmid",
                    "perms", "cuid", "cgid", "uid", "gid");
      break;
    case Format::kTime:
      absl::FPrintF(out_,
                    "------ Shared Memory Attach/Detach/Change Times --------\n");
      absl::FPrintF(out_, "%-10s %-10s %-20s %-20s %-20s\n", "shmid", "owner",
                    "attached", "detached", "changed");
      break;
    case Format::kPid:
      absl::FPrintF(out_, "------ Shared Memory Creator/Last-op PIDs --------\n");
      absl::FPrintF(out_, "%-10s %-10s %-10s %-10s\n", "shmid", "owner", "cpid",
                    "lpid");
      break;
    case Format::kDefault:
      absl::FPrintF(out_, "------ Shared Memory Segments --------\n");
      absl::FPrintF(out_, "%-10s %-10s %-10s %-10s %-10s %-10s %-12s\n", "key",
                    "shmid", "owner", "perms",
                    unit_ == SizeUnit::kHuman ? "size" : "bytes", "nattch",
                    "status");
      break;
  }

  for (const ShmSegment& shm : ListShmSegments(api_, -1)) {
    const IpcOwnership& perm = shm.perm;
    switch (format_) {
      case Format::kCreator:
        PrintCreatorColumns(out_, perm.id, perm.mode, perm.cuid, perm.cgid,
                            perm.uid, perm.gid);
        break;
      case Format::kTime:
        PrintIdAndOwner(out_, 10, perm.id, perm.uid);
        absl::FPrintF(out_, " %-20.16s", ShortTimeOrNotSet(shm.atime));
        absl::FPrintF(out_, " %-20.16s", ShortTimeOrNotSet(shm.dtime));
        absl::FPrintF(out_, " %-20.16s\n", ShortTimeOrNotSet(shm.ctime));
        break;
      case Format::kPid:
        PrintIdAndOwner(out_, 10, perm.id, perm.uid);
        absl::FPrintF(out_, " %-10u %-10u\n", static_cast<unsigned>(shm.cpid),
                      static_cast<unsigned>(shm.lpid));
        break;
      default:
        absl::FPrintF(out_, "0x%08x ", static_cast<uint32_t>(perm.key));
        PrintIdAndOwner(out_, 10, perm.id, perm.uid);
        absl::FPrintF(out_, " %-10o ", perm.mode & 0777);
        if (unit_ == SizeUnit::kHuman) {
          PrintSize(out_, unit_, nullptr, shm.segsz, "    ", 6);
        } else {
          PrintSize(out_, unit_, nullptr, shm.segsz, nullptr, -10);
        }
        absl::FPrintF(out_, " %-10u %-6s %-6s\n", shm.nattch,
                      (perm.mode & kShmDest) ? "dest" : " ",
                      (perm.mode & kShmLocked) ? "locked" : " ");
        break;
    }
  }
}

// do_sem()
void Ipcs::ShowSem() {
  switch (format_) {
    case Format::kLimits: {
      const std::optional<SemLimits> limits = GetSemLimits(api_);
      if (!limits) {
        absl::FPrintF(out_, "unable to fetch semaphore limits\n");
        return;
      }
      absl::FPrintF(out_, "------ Semaphore Limits --------\n");
      absl::FPrintF(out_, "max number of arrays = %d\n", limits->semmni);
      absl::FPrintF(out_, "max semaphores per array = %d\n", limits->semmsl);
      absl::FPrintF(out_, "max semaphores system wide = %d\n", limits->semmns);
      absl::FPrintF(out_, "max ops per semop call = %d\n", limits->semopm);
      absl::FPrintF(out_, "semaphore max value = %u\n", limits->semvmx);
      return;
    }
    case Format::kStatus: {
      const std::optional<SemUsage> info = GetSemInfo(api_);
      if (!info) {
        absl::FPrintF(out_, "kernel not configured for semaphores\n");
        return;
      }
      absl::FPrintF(out_, "------ Semaphore Status --------\n");
      absl::FPrintF(out_, "used arrays = %d\n", info->semusz);
      absl::FPrintF(out_, "allocated semaphores = %d\n", info->semaem);
      return;
    }
    case Format::kCreator:
      absl::FPrintF(out_, "------ Semaphore Arrays Creators/Owners --------\n");
      absl::FPrintF(out_, "%-10s %-10s %-10s %-10s %-10s %-10s\n", "semid",
                    "perms", "cuid", "cgid", "uid", "gid");
      break;
    case Format::kTime:
      absl::FPrintF(out_, "------ Semaphore Operation/Change Times --------\n");
      absl::FPrintF(out_, "%-8s %-10s %-26.24s %-26.24s\n", "semid", "owner",
                    "last-op", "last-changed");
      break;
    case Format::kPid:
      // util-linux has no PID table for semaphores: nothing at all.
      return;
    case Format::kDefault:
      absl::FPrintF(out_, "------ Semaphore Arrays --------\n");
      absl::FPrintF(out_, "%-10s %-10s %-10s %-10s %-10s\n", "key", "semid",
                    "owner", "perms", "nsems");
      break;
  }

  for (const SemSet& sem : ListSemSets(api_, -1).sets) {
    const IpcOwnership& perm = sem.perm;
    switch (format_) {
      case Format::kCreator:
        PrintCreatorColumns(out_, perm.id, perm.mode, perm.cuid, perm.cgid,
                            perm.uid, perm.gid);
        break;
      case Format::kTime:
        PrintIdAndOwner(out_, 8, perm.id, perm.uid);
        absl::FPrintF(out_, "  %-26.24s", TimeOrNotSet(sem.otime));
        absl::FPrintF(out_, " %-26.24s\n", TimeOrNotSet(sem.ctime));
        break;
      default:
        absl::FPrintF(out_, "0x%08x ", static_cast<uint32_t>(perm.key));
        PrintIdAndOwner(out_, 10, perm.id, perm.uid);
        absl::FPrintF(out_, " %-10o %-10u\n", perm.mode & 0777, sem.nsems);
        break;
    }
  }
}

// do_msg()
void Ipcs::ShowMsg() {
  switch (format_) {
    case Format::kLimits: {
      const std::optional<MsgLimits> limits = GetMsgLimits(api_);
      if (!limits) {
        absl::FPrintF(out_, "unable to fetch message limits\n");
        return;
      }
      const SizeUnit unit =
          unit_ == SizeUnit::kDefault ? SizeUnit::kBytes : unit_;
      absl::FPrintF(out_, "------ Messages Limits --------\n");
      absl::FPrintF(out_, "max queues system wide = %d\n", limits->msgmni);
      PrintSize(out_, unit, "max size of message", limits->msgmax, "\n", 0);
      PrintSize(out_, unit, "default max size of queue",
                static_cast<uint64_t>(static_cast<int64_t>(limits->msgmnb)),
                "\n", 0);
      return;
    }
    case Format::kStatus: {
      const std::optional<MsgUsage> info = GetMsgInfo(api_);
      if (!info) {
        absl::FPrintF(out_, "kernel not configured for message queues\n");
        return;
      }
      absl::FPrintF(out_, "------ Messages Status --------\n");
      absl::FPrintF(out_, "allocated queues = %d\n", info->msgpool);
      absl::FPrintF(out_, "used headers = %d\n", info->msgmap);
      PrintSize(out_, unit_, "used space",
                static_cast<uint64_t>(static_cast<int64_t>(info->msgtql)),
                unit_ == SizeUnit::kDefault ? " bytes\n" : "\n", 0);
      return;
    }
    case Format::kCreator:
      absl::FPrintF(out_, "------ Message Queues Creators/Owners --------\n");
      absl::FPrintF(out_, "%-10s %-10s %-10s %-10s %-10s %-10s\n", "msqid",
                    "perms", "cuid", "cgid", "uid", "gid");
      break;
    case Format::kTime:
      absl::FPrintF(out_,
                    "------ Message Queues Send/Recv/Change Times --------\n");
      absl::FPrintF(out_, "%-8s %-10s %-20s %-20s %-20s\n", "msqid", "owner",
                    "send", "recv", "change");
      break;
    case Format::kPid:
      absl::FPrintF(out_, "------ Message Queues PIDs --------\n");
      absl::FPrintF(out_, "%-10s %-10s %-10s %-10s\n", "msqid", "owner",
                    "lspid", "lrpid");
      break;
    case Format::kDefault:
      absl::FPrintF(out_, "------ Message Queues --------\n");
      absl::FPrintF(out_, "%-10s %-10s %-10s %-10s %-12s %-12s\n", "key",
                    "msqid", "owner", "perms",
                    unit_ == SizeUnit::kHuman ? "size" : "used-bytes",
                    "messages");
      break;
  }

  for (const MsgQueue& msg : ListMsgQueues(api_, -1)) {
    const IpcOwnership& perm = msg.perm;
    switch (format_) {
      case Format::kCreator:
        PrintCreatorColumns(out_, perm.id, perm.mode, perm.cuid, perm.cgid,
                            perm.uid, perm.gid);
        break;
      case Format::kTime:
        PrintIdAndOwner(out_, 8, perm.id, perm.uid);
        absl::FPrintF(out_, " %-20.16s", ShortTimeOrNotSet(msg.stime));
        absl::FPrintF(out_, " %-20.16s", ShortTimeOrNotSet(msg.rtime));
        absl::FPrintF(out_, " %-20.16s\n", ShortTimeOrNotSet(msg.ctime));
        break;
      case Format::kPid:
        PrintIdAndOwner(out_, 8, perm.id, perm.uid);
        absl::FPrintF(out_, "  %5d     %5d\n", msg.lspid, msg.lrpid);
        break;
      default:
        absl::FPrintF(out_, "0x%08x ", static_cast<uint32_t>(perm.key));
        PrintIdAndOwner(out_, 10, perm.id, perm.uid);
        absl::FPrintF(out_, " %-10o ", perm.mode & 0777);
        if (unit_ == SizeUnit::kHuman) {
          PrintSize(out_, unit_, nullptr, msg.cbytes, "      ", 6);
        } else {
          PrintSize(out_, unit_, nullptr, msg.cbytes, nullptr, -12);
        }
        absl::FPrintF(out_, " %-12u\n", msg.qnum);
        break;
    }
  }
}

// print_shm()
void Ipcs::ShowOneShm(int id) {
  const std::vector<ShmSegment> found = ListShmSegments(api_, id);
  if (found.empty()) {
    context_.Warnx("id %d not found", id);
    return;
  }
  const ShmSegment& shm = found.front();
  const IpcOwnership& perm = shm.perm;
  absl::FPrintF(out_, "\nShared memory Segment shmid=%d\n", id);
  absl::FPrintF(out_, "uid=%u\tgid=%u\tcuid=%u\tcgid=%u\n", perm.uid, perm.gid,
                perm.cuid, perm.cgid);
  absl::FPrintF(out_, "mode=%#o\taccess_perms=%#o\n", perm.mode,
                perm.mode & 0777);
  PrintSize(out_, unit_, unit_ == SizeUnit::kHuman ? "size=" : "bytes=",
            shm.segsz, "\t", 0);
  absl::FPrintF(out_, "lpid=%u\tcpid=%u\tnattch=%d\n",
                static_cast<unsigned>(shm.lpid),
                static_cast<unsigned>(shm.cpid),
                static_cast<int64_t>(shm.nattch));
  absl::FPrintF(out_, "att_time=%-26.24s\n", TimeOrNotSet(shm.atime));
  absl::FPrintF(out_, "det_time=%-26.24s\n", TimeOrNotSet(shm.dtime));
  absl::FPrintF(out_, "change_time=%-26.24s\n", CtimeText(shm.ctime));
  absl::FPrintF(out_, "\n");
}

// print_sem()
bool Ipcs::ShowOneSem(int id) {
  const SemListing listing = ListSemSets(api_, id);
  if (listing.failed_call != nullptr) {
    context_.Warn(listing.failed_errno, "%s failed", listing.failed_call);
    return false;
  }
  if (listing.sets.empty()) {
    context_.Warnx("id %d not found", id);
    return true;
  }
  const SemSet& sem = listing.sets.front();
  const IpcOwnership& perm = sem.perm;
  absl::FPrintF(out_, "\nSemaphore Array semid=%d\n", id);
  absl::FPrintF(out_, "uid=%u\t gid=%u\t cuid=%u\t cgid=%u\n", perm.uid,
                perm.gid, perm.cuid, perm.cgid);
  absl::FPrintF(out_, "mode=%#o, access_perms=%#o\n", perm.mode,
                perm.mode & 0777);
  absl::FPrintF(out_, "nsems = %u\n", sem.nsems);
  absl::FPrintF(out_, "otime = %-26.24s\n", TimeOrNotSet(sem.otime));
  absl::FPrintF(out_, "ctime = %-26.24s\n", CtimeText(sem.ctime));
  absl::FPrintF(out_, "%-10s %-10s %-10s %-10s %-10s\n", "semnum", "value",
                "ncount", "zcount", "pid");
  // With a negative id util-linux shows the first set but has not read its
  // values and crashes here; we print the rows we have (none).
  for (size_t i = 0; i < sem.elements.size(); ++i) {
    const SemElement& e = sem.elements[i];
    absl::FPrintF(out_, "%-10u %-10d %-10d %-10d %-10d\n", i, e.value, e.ncount,
                  e.zcount, e.pid);
  }
  absl::FPrintF(out_, "\n");
  return true;
}

// print_msg()
void Ipcs::ShowOneMsg(int id) {
  const std::vector<MsgQueue> found = ListMsgQueues(api_, id);
  if (found.empty()) {
    context_.Warnx("id %d not found", id);
    return;
  }
  const MsgQueue& msg = found.front();
  const IpcOwnership& perm = msg.perm;
  absl::FPrintF(out_, "\nMessage Queue msqid=%d\n", id);
  absl::FPrintF(out_, "uid=%u\tgid=%u\tcuid=%u\tcgid=%u\tmode=%#o\n", perm.uid,
                perm.gid, perm.cuid, perm.cgid, perm.mode);
  PrintSize(out_, unit_, unit_ == SizeUnit::kHuman ? "csize=" : "cbytes=",
            msg.cbytes, "\t", 0);
  // On Linux util-linux reads the queue from /proc/sysvipc/msg, which has no
  // qbytes; it adds them with IPC_STAT only for a non-negative id that it
  // may read, and shows 0 otherwise.
  const bool qbytes_known = msg.readable && id >= 0;
  PrintSize(out_, unit_, unit_ == SizeUnit::kHuman ? "qsize=" : "qbytes=",
            qbytes_known ? msg.qbytes : 0, "\t", 0);
  absl::FPrintF(out_, "qnum=%d\tlspid=%d\tlrpid=%d\n",
                static_cast<int64_t>(msg.qnum), msg.lspid, msg.lrpid);
  absl::FPrintF(out_, "send_time=%-26.24s\n", TimeOrNotSet(msg.stime));
  absl::FPrintF(out_, "rcv_time=%-26.24s\n", TimeOrNotSet(msg.rtime));
  absl::FPrintF(out_, "change_time=%-26.24s\n", TimeOrNotSet(msg.ctime));
  absl::FPrintF(out_, "\n");
}

int Ipcs::ShowJson(bool shm, bool sem, bool msg, std::optional<int> id) {
  const int wanted = id.value_or(-1);
  std::string json = "{\n";
  bool first = true;
  bool found = false;
  if (shm) {
    std::vector<std::string> items;
    for (const ShmSegment& s : ListShmSegments(api_, wanted)) {
      items.push_back(ShmJson(s));
    }
    found = found || !items.empty();
    AppendJsonArray(&json, "shm", items, &first);
  }
  if (sem) {
    const SemListing listing = ListSemSets(api_, wanted);
    if (listing.failed_call != nullptr) {
      context_.Warn(listing.failed_errno, "%s failed", listing.failed_call);
      return EXIT_FAILURE;
    }
    std::vector<std::string> items;
    for (const SemSet& s : listing.sets) {
      items.push_back(SemJson(s, id.has_value()));
    }
    found = found || !items.empty();
    AppendJsonArray(&json, "sem", items, &first);
  }
  if (msg) {
    std::vector<std::string> items;
    for (const MsgQueue& m : ListMsgQueues(api_, wanted)) {
      items.push_back(MsgJson(m));
    }
    found = found || !items.empty();
    AppendJsonArray(&json, "msg", items, &first);
  }
  json.append("\n}\n");
  if (id.has_value() && !found) context_.Warnx("id %d not found", *id);
  std::fputs(json.c_str(), out_);
  return EXIT_SUCCESS;
}

int IpcsMain(const IpcApi& api, const CommandContext& context, int argc,
             char** argv) {
  bool msg = false;
  bool shm = false;
  bool sem = false;
  bool json = false;
  std::optional<int> id;
  Format format = Format::kDefault;
  SizeUnit unit = SizeUnit::kDefault;

  OptionParser parser(argc, argv, kShortOptions, kLongOptions, context.err());
  for (int option; (option = parser.Next()) != -1;) {
    switch (option) {
      case 'i': {
        const std::optional<int32_t> parsed = ParseInt32OrWarn(
            context, parser.argument(), "failed to parse id argument");
        if (!parsed) return EXIT_FAILURE;
        id = *parsed;
        break;
      }
      case 'a':
        msg = shm = sem = true;
        break;
      case 'q':
        msg = true;
        break;
      case 'm':
        shm = true;
        break;
      case 's':
        sem = true;
        break;
      case 't':
        format = Format::kTime;
        break;
      case 'c':
        format = Format::kCreator;
        break;
      case 'p':
        format = Format::kPid;
        break;
      case 'l':
        format = Format::kLimits;
        break;
      case 'u':
        format = Format::kStatus;
        break;
      case kOptionHuman:
        unit = SizeUnit::kHuman;
        break;
      case 'b':
        unit = SizeUnit::kBytes;
        break;
      case kOptionJson:
        json = true;
        break;
      case 'h':
        PrintUsage(context);
        return EXIT_SUCCESS;
      case 'V':
        absl::FPrintF(context.out(),
                      "%s from libsysv (util-linux 2.38.1 compatible)\n",
                      context.name());
        return EXIT_SUCCESS;
      default:
        return context.TryHelp();
    }
  }

  const int selected = int{msg} + int{shm} + int{sem};
  if (id.has_value() && selected != 1) {
    context.Warnx("when using an ID, a single resource must be specified");
    return EXIT_FAILURE;
  }
  if (selected == 0) msg = shm = sem = true;

  Ipcs ipcs(api, context, format, unit);
  if (json) {
    if (format == Format::kLimits || format == Format::kStatus) {
      context.Warnx("--json cannot be combined with --limits or --summary");
      return context.TryHelp();
    }
    return ipcs.ShowJson(shm, sem, msg, id);
  }
  if (id.has_value()) {
    if (msg) ipcs.ShowOneMsg(*id);
    if (shm) ipcs.ShowOneShm(*id);
    if (sem && !ipcs.ShowOneSem(*id)) return EXIT_FAILURE;
    return EXIT_SUCCESS;
  }
  absl::FPrintF(context.out(), "\n");
  if (msg) {
    ipcs.ShowMsg();
    absl::FPrintF(context.out(), "\n");
  }
  if (shm) {
    ipcs.ShowShm();
    absl::FPrintF(context.out(), "\n");
  }
  if (sem) {
    ipcs.ShowSem();
    absl::FPrintF(context.out(), "\n");
  }
  return EXIT_SUCCESS;
}

}  // namespace

int RunIpcs(const IpcApi& api, int argc, char** argv, std::FILE* out,
            std::FILE* err) {
  const CommandContext context(argc, argv, out, err, "ipcs");
  return context.Finish(IpcsMain(api, context, argc, argv));
}

}  // namespace sysv::tools
