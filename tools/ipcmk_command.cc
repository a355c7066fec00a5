#include "tools/ipcmk_command.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <random>

#include "absl/strings/str_format.h"
#include "tools/command_context.h"
#include "tools/option_parser.h"
#include "tools/strutils.h"

namespace sysv::tools {
namespace {

constexpr LongOption kLongOptions[] = {
    {"shmem", ArgumentKind::kRequired, 'M'},
    {"semaphore", ArgumentKind::kRequired, 'S'},
    {"queue", ArgumentKind::kNone, 'Q'},
    {"mode", ArgumentKind::kRequired, 'p'},
    {"version", ArgumentKind::kNone, 'V'},
    {"help", ArgumentKind::kNone, 'h'},
};

constexpr char kShortOptions[] = "hM:QS:p:Vh";

void PrintUsage(const CommandContext& context) {
  std::FILE* out = context.out();
  absl::FPrintF(out, "\nUsage:\n");
  absl::FPrintF(out, " %s [options]\n", context.name());
  absl::FPrintF(out, "\nCreate various IPC resources.\n");
  absl::FPrintF(out, "\nOptions:\n");
  absl::FPrintF(
      out,
      " -M, --shmem <size>       create shared memory segment of size <size>\n"
      " -S, --semaphore <number> create semaphore array with <number> "
      "elements\n"
      " -Q, --queue              create message queue\n"
      " -p, --mode <mode>        permission for the resource (default is "
      "0644)\n");
  absl::FPrintF(out, "\n");
  absl::FPrintF(out, "%-26s%s\n%-26s%s\n", " -h, --help", "display this help",
                " -V, --version", "display version");
  absl::FPrintF(out, "\nArguments:\n");
  absl::FPrintF(out,
                " %s arguments may be followed by the suffixes for\n"
                "   GiB, TiB, PiB, EiB, ZiB, and YiB (the \"iB\" is "
                "optional)\n",
                "<size>");
  absl::FPrintF(out, "\nFor more details see ipcmk(1).\n");
}

// ul_random_get_bytes() for a key: getrandom(), else the C++ library's
// random device.
key_t RandomKey() {
  uint32_t bits = 0;
  if (getrandom(&bits, sizeof(bits), GRND_NONBLOCK) !=
      static_cast<ssize_t>(sizeof(bits))) {
    std::random_device device;
    bits = device();
  }
  return static_cast<key_t>(bits);
}

int IpcmkMain(const IpcApi& api, const CommandContext& context, int argc,
              char** argv) {
  int permission = 0644;
  size_t size = 0;
  int nsems = 0;
  bool want_shm = false;
  bool want_msg = false;
  bool want_sem = false;

  OptionParser parser(argc, argv, kShortOptions, kLongOptions, context.err());
  for (int option; (option = parser.Next()) != -1;) {
    switch (option) {
      case 'M': {
        const std::optional<uint64_t> parsed = ParseSizeOrWarn(
            context, parser.argument(), "failed to parse size");
        if (!parsed) return EXIT_FAILURE;
        size = static_cast<size_t>(*parsed);
        want_shm = true;
        break;
      }
      case 'Q':
        want_msg = true;
        break;
      case 'S': {
        const std::optional<int32_t> parsed = ParseInt32OrWarn(
            context, parser.argument(), "failed to parse elements");
        if (!parsed) return EXIT_FAILURE;
        nsems = *parsed;
        want_sem = true;
        break;
      }
      case 'p': {
        // strtoul base 8, truncated to int. util-linux reports failures with
        // err(), so an unparsable mode shows ": Success".
        const char* text = parser.argument();
        char* end = nullptr;
        errno = 0;
        const unsigned long mode = std::strtoul(text, &end, 8);
        const int parse_errno = errno;
        if (parse_errno != 0 || end == text || *end != '\0') {
          context.Warn(parse_errno, "failed to parse mode");
          return EXIT_FAILURE;
        }
        permission = static_cast<int>(static_cast<unsigned int>(mode));
        break;
      }
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

  if (!want_shm && !want_msg && !want_sem) {
    context.Warnx("bad usage");
    return context.TryHelp();
  }
  if (want_shm) {
    const int id = api.shmget(RandomKey(), size, permission | IPC_CREAT);
    if (id == -1) {
      context.Warn(errno, "create share memory failed");
      return EXIT_FAILURE;
    }
    absl::FPrintF(context.out(), "Shared memory id: %d\n", id);
  }
  if (want_msg) {
    const int id = api.msgget(RandomKey(), permission | IPC_CREAT);
    if (id == -1) {
      context.Warn(errno, "create message queue failed");
      return EXIT_FAILURE;
    }
    absl::FPrintF(context.out(), "Message queue id: %d\n", id);
  }
  if (want_sem) {
    const int id = api.semget(RandomKey(), nsems, permission | IPC_CREAT);
    if (id == -1) {
      context.Warn(errno, "create semaphore failed");
      return EXIT_FAILURE;
    }
    absl::FPrintF(context.out(), "Semaphore id: %d\n", id);
  }
  return EXIT_SUCCESS;
}

}  // namespace

int RunIpcmk(const IpcApi& api, int argc, char** argv, std::FILE* out,
             std::FILE* err) {
  const CommandContext context(argc, argv, out, err, "ipcmk");
  return context.Finish(IpcmkMain(api, context, argc, argv));
}

}  // namespace sysv::tools
