#include "tests/security/victim_fixture.h"

#include <unistd.h>

#include <utility>

#include "gtest/gtest.h"

namespace sysv::testing {

void VictimFixture::SetUp() {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  SharedNamespaceTest::SetUp();
}

std::thread VictimFixture::StartVictim(const Identity& who,
                                       std::function<int(const std::function<bool()>& ready)> body, int* result) {
  int ready_pipe[2] = {-1, -1};
  EXPECT_EQ(pipe(ready_pipe), 0);
  const int write_end = ready_pipe[1];
  std::thread victim([who, body = std::move(body), result, write_end] {
    // The child's copy of the write end signals; the thread's is closed
    // when the child is done, so that a child that never got ready ends
    // the wait below too.
    *result = RunAs(who, [&] {
      return body([write_end] {
        const char ready = 'r';
        return write(write_end, &ready, 1) == 1;
      });
    });
    close(write_end);
  });
  char ready = 0;
  const ssize_t got = read(ready_pipe[0], &ready, 1);
  EXPECT_EQ(got, 1) << "the victim ended before it was in place";
  close(ready_pipe[0]);
  return victim;
}

}  // namespace sysv::testing
