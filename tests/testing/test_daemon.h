// A real sysvipcd for tests: a separate process serving a fresh namespace
// under $TEST_TMPDIR, started, stopped, killed and restarted at will.
#ifndef SYSV_TESTS_TESTING_TEST_DAEMON_H_
#define SYSV_TESTS_TESTING_TEST_DAEMON_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sysv::testing {

// Path of a file in this workspace's runfiles (e.g. "daemon/sysvipcd").
std::string RunfilePath(const std::string& relative);

// A fresh namespace directory name under $TEST_TMPDIR.
std::string FreshNamespaceDir(const std::string& tag);

class TestDaemon {
 public:
  // `extra_flags` go to sysvipcd (e.g. "--event_loop=epoll").
  explicit TestDaemon(std::string dir, std::vector<std::string> extra_flags = {});
  ~TestDaemon();

  // Starts sysvipcd in the foreground (as a child) and waits for its socket.
  // Sets SYSVIPC_DIR for this process so that clients find it, and turns off
  // autostart so that a missing daemon is an error, not a silent restart.
  void Start();
  // SIGTERM and wait.
  void Stop();
  // SIGKILL and wait: the daemon gets no chance to clean up.
  void Kill();

  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }

 private:
  std::string dir_;
  std::vector<std::string> extra_flags_;
  pid_t pid_ = -1;
};

// A fixture with a real daemon in a fresh namespace that other users can
// reach (its directory 0755, where mkdtemp made it 0700): what the tests
// that run attackers and victims as other users start from.
class SharedNamespaceTest : public ::testing::Test {
 protected:
  explicit SharedNamespaceTest(std::string tag, std::vector<std::string> extra_flags = {})
      : tag_(std::move(tag)), extra_flags_(std::move(extra_flags)) {}
  void SetUp() override;

  std::string dir_;
  std::unique_ptr<TestDaemon> daemon_;

 private:
  std::string tag_;
  std::vector<std::string> extra_flags_;
};

}  // namespace sysv::testing

#endif  // SYSV_TESTS_TESTING_TEST_DAEMON_H_
