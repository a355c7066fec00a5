// A client cannot make the daemon's log grow without bound. Every bad
// request is worth a warning, and an auto-started daemon logs into the
// namespace directory, on the state's file system; a client sending garbage
// as fast as it can would otherwise fill it (and, with it, starve everyone
// of room for new objects).
//
// The bound is the daemon's: at most 50 lines per 10-second window, plus one
// line saying how many were suppressed. The test measures how long its
// flood lasted and allows that many windows, so it does not depend on speed.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "backends/common/namespace_layout.h"
#include "core/protocol/codec.h"
#include "core/protocol/wire.h"
#include "gtest/gtest.h"
#include "tests/reliability/raw_client.h"
#include "tests/testing/event_loops.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

namespace wire = core::wire;
using testing::RawClient;
using testing::RawReply;

constexpr int kBurst = 50;            // daemon/log.cc
constexpr double kWindowSeconds = 10;  // daemon/log.cc

double Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

TEST(LogFloodTest, BadRequestsCannotFloodTheLog) {
  const std::string dir = testing::FreshNamespaceDir("logflood");
  const std::string log_path = absl::StrCat(dir, "/captured.log");
  const std::string binary = testing::RunfilePath("daemon/sysvipcd");
  const pid_t daemon = fork();
  ASSERT_GE(daemon, 0);
  if (daemon == 0) {
    FILE* log = std::freopen(log_path.c_str(), "w", stderr);
    if (log == nullptr) _exit(126);
    const std::string dir_flag = absl::StrCat("--dir=", dir);
    // The backend's last event loop: epoll on Linux (no io_uring needed),
    // kqueue on DragonFly.
    const std::string loop_flag = absl::StrCat("--event_loop=", *(::sysv::testing::BackendEventLoopsEnd() - 1));
    execl(binary.c_str(), binary.c_str(), dir_flag.c_str(), "--foreground", loop_flag.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  // Serving once a registration is answered (bounded: 10 s).
  bool serving = false;
  for (int i = 0; i < 1000 && !serving; ++i) {
    RawClient probe(dir);
    serving = probe.ok() && probe.Register() == 0;
    if (!serving) usleep(10000);
  }
  ASSERT_TRUE(serving) << "sysvipcd did not start";

  // 5000 requests of the wrong length, each answered with EPROTO and each
  // worth a warning, over a few connections.
  const double start = Now();
  int answered = 0;
  for (int c = 0; c < 5; ++c) {
    RawClient client(dir);
    ASSERT_TRUE(client.ok());
    ASSERT_EQ(client.Register(), 0);
    std::vector<uint8_t> bad = wire::EncodeRequest<wire::Op::kShmGet>(1, wire::ShmGetRequest{});
    bad.push_back(0);
    const uint32_t length = static_cast<uint32_t>(bad.size());
    std::memcpy(bad.data() + offsetof(wire::Header, length), &length, sizeof(length));
    for (int i = 0; i < 1000; ++i) {
      const RawReply reply = client.RoundTrip(bad);
      ASSERT_EQ(reply.kind, RawReply::Kind::kMessage);
      answered += reply.Status() == EPROTO;
    }
  }
  const double elapsed = Now() - start;
  EXPECT_EQ(answered, 5000);

  kill(daemon, SIGTERM);
  int status = 0;
  waitpid(daemon, &status, 0);
  std::ifstream log(log_path);
  int lines = 0;
  int bad_request_lines = 0;
  bool suppression_reported = false;
  for (std::string line; std::getline(log, line);) {
    ++lines;
    bad_request_lines += absl::StrContains(line, "bad request");
    suppression_reported |= absl::StrContains(line, "log lines suppressed");
  }
  // The windows the flood can have touched, each kBurst lines and one
  // report of what it suppressed; plus the start and stop lines.
  const int windows = static_cast<int>(elapsed / kWindowSeconds) + 2;
  std::printf("%d bad requests in %.2f s gave %d log lines (%d about bad requests)\n", answered, elapsed, lines,
              bad_request_lines);
  EXPECT_GT(bad_request_lines, 0) << "bad requests are not logged at all";
  EXPECT_LE(lines, windows * (kBurst + 1) + 4);
  if (elapsed >= kWindowSeconds) {
    EXPECT_TRUE(suppression_reported) << "suppressed lines are not reported";
  }
}

}  // namespace
}  // namespace sysv
