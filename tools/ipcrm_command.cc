#include "tools/ipcrm_command.h"

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "absl/strings/str_format.h"
#include "core/ipc/ipc_constants.h"
#include "core/msg/msg_registry.h"
#include "core/sem/sem_registry.h"
#include "tools/command_context.h"
#include "tools/ipc_objects.h"
#include "tools/option_parser.h"
#include "tools/strutils.h"

namespace sysv::tools {
namespace {

enum class Kind { kShm, kSem, kMsg, kAll };

// What removing one object led to.
enum class Removal {
  kRemoved,
  kFailed,  // Reported with a warning; counts as an error.
  kFatal,   // Reported; util-linux exits with status 1 at once.
};

constexpr LongOption kLongOptions[] = {
    {"shmem-id", ArgumentKind::kRequired, 'm'},
    {"shmem-key", ArgumentKind::kRequired, 'M'},
    {"queue-id", ArgumentKind::kRequired, 'q'},
    {"queue-key", ArgumentKind::kRequired, 'Q'},
    {"semaphore-id", ArgumentKind::kRequired, 's'},
    {"semaphore-key", ArgumentKind::kRequired, 'S'},
    {"all", ArgumentKind::kOptional, 'a'},
    {"verbose", ArgumentKind::kNone, 'v'},
    {"version", ArgumentKind::kNone, 'V'},
    {"help", ArgumentKind::kNone, 'h'},
};

constexpr char kShortOptions[] = "q:m:s:Q:M:S:a::vhV";

void PrintUsage(const CommandContext& context) {
  std::FILE* out = context.out();
  const std::string& name = context.name();
  absl::FPrintF(out, "\nUsage:\n");
  absl::FPrintF(out, " %s [options]\n %s shm|msg|sem <id>...\n", name, name);
  absl::FPrintF(out, "\nRemove certain IPC resources.\n");
  absl::FPrintF(out, "\nOptions:\n");
  absl::FPrintF(out,
                " -m, --shmem-id <id>        remove shared memory segment by id\n"
                " -M, --shmem-key <key>      remove shared memory segment by key\n"
                " -q, --queue-id <id>        remove message queue by id\n"
                " -Q, --queue-key <key>      remove message queue by key\n"
                " -s, --semaphore-id <id>    remove semaphore by id\n"
                " -S, --semaphore-key <key>  remove semaphore by key\n"
                " -a, --all[=shm|msg|sem]    remove all (in the specified "
                "category)\n"
                " -v, --verbose              explain what is being done\n");
  absl::FPrintF(out, "\n");
  absl::FPrintF(out, "%-28s%s\n%-28s%s\n", " -h, --help", "display this help",
                " -V, --version", "display version");
  absl::FPrintF(out, "\nFor more details see ipcrm(1).\n");
}

class Ipcrm {
 public:
  Ipcrm(const IpcApi& api, const CommandContext& context)
      : api_(api), context_(context) {}

  void set_verbose(bool verbose) { verbose_ = verbose; }

  // remove_id(): IPC_RMID on `id`, reporting failures against the id (or,
  // when `by_key`, with the key wording but still the id).
  Removal Remove(Kind kind, bool by_key, int id);

  // key_to_id(): the id for `text`, or nullopt after a warning (counts as an
  // error). Sets *fatal when util-linux would exit at once.
  std::optional<int> KeyToId(Kind kind, const char* text, bool* fatal);

  // remove_all(): true if every removal worked; *fatal as above.
  bool RemoveAll(Kind kind, bool* fatal);

 private:
  const IpcApi& api_;
  const CommandContext& context_;
  bool verbose_ = false;
};

Removal Ipcrm::Remove(Kind kind, bool by_key, int id) {
  int rc = -1;
  std::FILE* out = context_.out();
  switch (kind) {
    case Kind::kShm:
      if (verbose_) {
        absl::FPrintF(out, "removing shared memory segment id `%d'\n", id);
      }
      rc = api_.shmctl(id, IPC_RMID, nullptr);
      break;
    case Kind::kMsg:
      if (verbose_) absl::FPrintF(out, "removing message queue id `%d'\n", id);
      rc = api_.msgctl(id, IPC_RMID, nullptr);
      break;
    case Kind::kSem: {
      if (verbose_) absl::FPrintF(out, "removing semaphore id `%d'\n", id);
      SemctlArg arg;
      arg.val = 0;
      rc = api_.semctl(id, 0, IPC_RMID, arg);
      break;
    }
    case Kind::kAll:
      context_.Warnx("impossible occurred");
      return Removal::kFatal;
  }
  if (rc >= 0) return Removal::kRemoved;
  const int error = errno;
  const char* message = nullptr;
  switch (error) {
    case EACCES:
    case EPERM:
      message = by_key ? "permission denied for key" : "permission denied for id";
      break;
    case EINVAL:
      message = by_key ? "invalid key" : "invalid id";
      break;
    case EIDRM:
      message = by_key ? "already removed key" : "already removed id";
      break;
    default:
      context_.Warn(error, "%s", by_key ? "key failed" : "id failed");
      return Removal::kFatal;
  }
  context_.Warnx("%s (%d)", message, id);
  return Removal::kFailed;
}

std::optional<int> Ipcrm::KeyToId(Kind kind, const char* text, bool* fatal) {
  // strtokey(): decimal, hex or octal; the value is truncated to key_t.
  const char* what = "failed to parse argument";
  if (text == nullptr || *text == '\0') {
    // util-linux prints whatever errno was left over here (locale-
    // dependent); in the C locale that is none.
    context_.Warnx("%s: '%s'", what, text == nullptr ? "" : text);
    *fatal = true;
    return std::nullopt;
  }
  char* end = nullptr;
  errno = 0;
  const unsigned long number = std::strtoul(text, &end, 0);
  const int parse_errno = errno;
  if (parse_errno != 0 || end == text || *end != '\0') {
    if (parse_errno != 0) {
      context_.Warn(parse_errno, "%s: '%s'", what, text);
    } else {
      context_.Warnx("%s: '%s'", what, text);
    }
    *fatal = true;
    return std::nullopt;
  }
  const key_t key = static_cast<key_t>(static_cast<uint32_t>(number));
  if (key == IPC_PRIVATE) {
    context_.Warnx("illegal key (%s)", text);
    return std::nullopt;
  }
  int id = -1;
  switch (kind) {
    case Kind::kShm:
      id = api_.shmget(key, 0, 0);
      break;
    case Kind::kMsg:
      id = api_.msgget(key, 0);
      break;
    case Kind::kSem:
      id = api_.semget(key, 0, 0);
      break;
    case Kind::kAll:
      context_.Warnx("impossible occurred");
      *fatal = true;
      return std::nullopt;
  }
  if (id >= 0) return id;
  const int error = errno;
  const char* message = nullptr;
  switch (error) {
    case EACCES:
      message = "permission denied for key";
      break;
    case EIDRM:
      message = "already removed key";
      break;
    case ENOENT:
      message = "invalid key";
      break;
    default:
      context_.Warn(error, "key failed");
      *fatal = true;
      return std::nullopt;
  }
  context_.Warnx("%s (%s)", message, text);
  return std::nullopt;
}

bool Ipcrm::RemoveAll(Kind kind, bool* fatal) {
  bool ok = true;
  const auto handle = [&](Removal removal) {
    if (removal == Removal::kFatal) *fatal = true;
    if (removal != Removal::kRemoved) ok = false;
    return removal != Removal::kFatal;
  };
  if (kind == Kind::kShm || kind == Kind::kAll) {
    const int max_index = ShmMaxIndex(api_);
    if (max_index < 0) {
      context_.Warnx("kernel not configured for shared memory");
      *fatal = true;
      return false;
    }
    for (int index = 0; index <= max_index; ++index) {
      ShmUsage reply{};
      const int id = ShmRead(api_, index, core::kShmStat, &reply);
      if (id < 0) continue;
      if (!handle(Remove(Kind::kShm, false, id))) return false;
    }
  }
  if (kind == Kind::kSem || kind == Kind::kAll) {
    const int max_index = SemMaxIndex(api_);
    if (max_index < 0) {
      context_.Warnx("kernel not configured for semaphores");
      *fatal = true;
      return false;
    }
    for (int index = 0; index <= max_index; ++index) {
      SemUsage reply{};
      const int id = SemRead(api_, index, 0, core::kSemStat, &reply);
      if (id < 0) continue;
      if (!handle(Remove(Kind::kSem, false, id))) return false;
    }
  }
  if (kind == Kind::kMsg || kind == Kind::kAll) {
    const int max_index = MsgMaxIndex(api_);
    if (max_index < 0) {
      context_.Warnx("kernel not configured for message queues");
      *fatal = true;
      return false;
    }
    for (int index = 0; index <= max_index; ++index) {
      MsgUsage reply{};
      const int id = MsgRead(api_, index, core::kMsgStat, &reply);
      if (id < 0) continue;
      if (!handle(Remove(Kind::kMsg, false, id))) return false;
    }
  }
  return ok;
}

// deprecated_main(): `ipcrm shm|msg|sem <id>...`. Returns nullopt if argv is
// not in that form, else the exit status.
std::optional<int> LegacyMain(Ipcrm& ipcrm, const CommandContext& context,
                              int argc, char** argv) {
  Kind kind;
  if (std::strcmp(argv[1], "shm") == 0) {
    kind = Kind::kShm;
  } else if (std::strcmp(argv[1], "msg") == 0) {
    kind = Kind::kMsg;
  } else if (std::strcmp(argv[1], "sem") == 0) {
    kind = Kind::kSem;
  } else {
    return std::nullopt;
  }
  if (argc < 3) {
    context.Warnx("not enough arguments");
    return context.TryHelp();
  }
  int errors = 0;
  for (int i = 2; i < argc; ++i) {
    // strtoul, truncated to int: "-5" and "99999999999" are taken (as -5 and
    // 1215752191), and "" is id 0, as in util-linux.
    char* end = nullptr;
    errno = 0;
    const unsigned long number = std::strtoul(argv[i], &end, 10);
    const int parse_errno = errno;
    if (parse_errno != 0 || end == nullptr || *end != '\0') {
      context.Warnx("invalid id: %s", argv[i]);
      ++errors;
      continue;
    }
    const int id = static_cast<int>(static_cast<unsigned int>(number));
    const Removal removal = ipcrm.Remove(kind, false, id);
    if (removal == Removal::kFatal) return EXIT_FAILURE;
    if (removal == Removal::kFailed) ++errors;
  }
  if (errors != 0) return EXIT_FAILURE;
  absl::FPrintF(context.out(), "resource(s) deleted\n");
  return EXIT_SUCCESS;
}

int IpcrmMain(const IpcApi& api, const CommandContext& context, int argc,
              char** argv) {
  // Without arguments, util-linux does nothing.
  if (argc <= 1) return EXIT_SUCCESS;

  Ipcrm ipcrm(api, context);
  if (std::optional<int> status = LegacyMain(ipcrm, context, argc, argv)) {
    return *status;
  }

  int errors = 0;
  bool remove_all = false;
  Kind remove_all_kind = Kind::kAll;
  OptionParser parser(argc, argv, kShortOptions, kLongOptions, context.err());
  for (int option; (option = parser.Next()) != -1;) {
    Kind kind = Kind::kShm;
    switch (option) {
      case 'M':
      case 'm':
        kind = Kind::kShm;
        break;
      case 'Q':
      case 'q':
        kind = Kind::kMsg;
        break;
      case 'S':
      case 's':
        kind = Kind::kSem;
        break;
      case 'a':
        remove_all = true;
        if (const char* which = parser.argument()) {
          if (std::strcmp(which, "shm") == 0) {
            remove_all_kind = Kind::kShm;
          } else if (std::strcmp(which, "msg") == 0) {
            remove_all_kind = Kind::kMsg;
          } else if (std::strcmp(which, "sem") == 0) {
            remove_all_kind = Kind::kSem;
          } else {
            context.Warnx("unknown argument: %s", which);
            return EXIT_FAILURE;
          }
        } else {
          remove_all_kind = Kind::kAll;
        }
        continue;
      case 'v':
        ipcrm.set_verbose(true);
        continue;
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

    // -m/-q/-s <id> or -M/-Q/-S <key>.
    const bool by_key = option == 'M' || option == 'Q' || option == 'S';
    int id;
    if (by_key) {
      bool fatal = false;
      const std::optional<int> found =
          ipcrm.KeyToId(kind, parser.argument(), &fatal);
      if (fatal) return EXIT_FAILURE;
      if (!found) {
        ++errors;
        continue;
      }
      id = *found;
    } else {
      const std::optional<int32_t> parsed = ParseInt32OrWarn(
          context, parser.argument(), "failed to parse argument");
      if (!parsed) return EXIT_FAILURE;
      id = *parsed;
    }
    const Removal removal = ipcrm.Remove(kind, by_key, id);
    if (removal == Removal::kFatal) return EXIT_FAILURE;
    if (removal == Removal::kFailed) ++errors;
  }

  if (remove_all) {
    bool fatal = false;
    const bool ok = ipcrm.RemoveAll(remove_all_kind, &fatal);
    if (fatal) return EXIT_FAILURE;
    if (!ok) ++errors;
  }

  if (!parser.operands().empty()) {
    context.Warnx("unknown argument: %s", parser.operands().front());
    return context.TryHelp();
  }
  return errors == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

}  // namespace

int RunIpcrm(const IpcApi& api, int argc, char** argv, std::FILE* out,
             std::FILE* err) {
  const CommandContext context(argc, argv, out, err, "ipcrm");
  return context.Finish(IpcrmMain(api, context, argc, argv));
}

}  // namespace sysv::tools
