// OptionParser against glibc's getopt_long() itself: the same argv, option
// tables and argv[0] must give the same options, arguments, operands (in
// getopt's permuted order) and messages.
#include "tools/option_parser.h"

#include <getopt.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace sysv::tools {
namespace {

// One parse, written down: each option as "<value>[=<argument>]", then
// "operands:" and the operands, then what was printed.
struct Trace {
  std::string events;
  std::string messages;
};

std::string ReadAll(int fd) {
  std::string data;
  lseek(fd, 0, SEEK_SET);
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0) data.append(buffer, n);
  return data;
}

std::vector<char*> MakeArgv(std::vector<std::string>& strings) {
  std::vector<char*> argv;
  for (std::string& s : strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  return argv;
}

std::string Event(int value, const char* argument) {
  std::string event = absl::StrCat(value);
  if (argument != nullptr) absl::StrAppend(&event, "=", argument);
  return event;
}

Trace Ours(std::vector<std::string> args, const char* short_options,
           const std::vector<LongOption>& long_options) {
  std::FILE* messages = std::tmpfile();
  std::vector<char*> argv = MakeArgv(args);
  OptionParser parser(static_cast<int>(args.size()), argv.data(),
                      short_options, long_options, messages);
  std::vector<std::string> events;
  for (int option; (option = parser.Next()) != -1;) {
    events.push_back(Event(option, parser.argument()));
  }
  EXPECT_EQ(parser.Next(), -1);
  events.push_back("operands:");
  for (char* operand : parser.operands()) events.push_back(operand);
  std::fflush(messages);
  Trace trace{absl::StrJoin(events, " "), ReadAll(fileno(messages))};
  std::fclose(messages);
  return trace;
}

// glibc's getopt_long() has global state and prints to stderr: run it in a
// child with stderr on a memfd.
Trace Glibc(std::vector<std::string> args, const char* short_options,
            const std::vector<LongOption>& long_options) {
  const int events_fd = memfd_create("events", 0);
  const int messages_fd = memfd_create("messages", 0);
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(messages_fd, STDERR_FILENO);
    std::vector<struct option> options;
    for (const LongOption& o : long_options) {
      const int has_arg = o.argument == ArgumentKind::kNone       ? no_argument
                          : o.argument == ArgumentKind::kRequired ? required_argument
                                                                  : optional_argument;
      options.push_back({o.name, has_arg, nullptr, o.value});
    }
    options.push_back({nullptr, 0, nullptr, 0});
    std::vector<char*> argv = MakeArgv(args);
    const int argc = static_cast<int>(args.size());
    optind = 0;  // Full re-initialisation.
    std::vector<std::string> events;
    for (int option;
         (option = getopt_long(argc, argv.data(), short_options,
                               options.data(), nullptr)) != -1;) {
      events.push_back(Event(option, optarg));
    }
    events.push_back("operands:");
    for (int i = optind; i < argc; ++i) events.push_back(argv[i]);
    const std::string text = absl::StrJoin(events, " ");
    (void)!write(events_fd, text.data(), text.size());
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  Trace trace{ReadAll(events_fd), ReadAll(messages_fd)};
  close(events_fd);
  close(messages_fd);
  return trace;
}

const std::vector<LongOption> kIpcsLike = {
    {"id", ArgumentKind::kRequired, 'i'},
    {"queues", ArgumentKind::kNone, 'q'},
    {"shmems", ArgumentKind::kNone, 'm'},
    {"semaphores", ArgumentKind::kNone, 's'},
    {"summary", ArgumentKind::kNone, 'u'},
    {"human", ArgumentKind::kNone, 256},
    {"all", ArgumentKind::kOptional, 'a'},
    {"shmem-key", ArgumentKind::kRequired, 'M'},
    {"hidden", ArgumentKind::kNone, 256},  // Same as --human: not ambiguous.
};

TEST(OptionParserTest, MatchesGlibcGetoptLong) {
  const std::vector<std::vector<std::string>> cases = {
      {"prog"},
      {"prog", "-m"},
      {"prog", "-mqs"},
      {"prog", "-i", "5"},
      {"prog", "-i5"},
      {"prog", "-mi5"},
      {"prog", "-mi"},
      {"prog", "-i"},
      {"prog", "-x"},
      {"prog", "-mxq"},
      {"prog", "-:"},
      {"prog", "-a"},
      {"prog", "-ashm"},
      {"prog", "-a", "shm"},
      {"prog", "--all"},
      {"prog", "--all=shm"},
      {"prog", "--all="},
      {"prog", "--all", "shm"},
      {"prog", "--id", "7"},
      {"prog", "--id=7"},
      {"prog", "--id"},
      {"prog", "--id="},
      {"prog", "--i", "7"},
      {"prog", "--s"},
      {"prog", "--s=1"},
      {"prog", "--sh"},
      {"prog", "--shm"},
      {"prog", "--shmem"},
      {"prog", "--shmems"},
      {"prog", "--h"},
      {"prog", "--hu=1"},
      {"prog", "--queues=1"},
      {"prog", "--nope"},
      {"prog", "--nope=1"},
      {"prog", "--"},
      {"prog", "--", "-m"},
      {"prog", "a", "-m", "b", "--", "-q", "c"},
      {"prog", "-", "-m"},
      {"prog", "x", "-i", "-m", "y"},
      {"prog", "-i", "--", "z"},
      {"prog", "--=x"},
      {"prog", "-m", "-x", "-q"},
      {"/usr/bin/prog", "-x"},
  };
  for (const auto& args : cases) {
    SCOPED_TRACE(absl::StrJoin(args, " "));
    const Trace expected = Glibc(args, "i:qmsua::M:", kIpcsLike);
    const Trace actual = Ours(args, "i:qmsua::M:", kIpcsLike);
    EXPECT_EQ(actual.events, expected.events);
    EXPECT_EQ(actual.messages, expected.messages);
  }
}

TEST(OptionParserTest, LeadingPlusStopsAtFirstOperand) {
  const std::vector<std::string> args = {"prog", "-m", "a", "-q"};
  const Trace expected = Glibc(args, "+qm", kIpcsLike);
  const Trace actual = Ours(args, "+qm", kIpcsLike);
  EXPECT_EQ(actual.events, expected.events);
  EXPECT_EQ(actual.events, "109 operands: a -q");
}

}  // namespace
}  // namespace sysv::tools
