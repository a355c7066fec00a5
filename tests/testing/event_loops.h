// The event loops a daemon test runs over: every --event_loop value that
// picks one of the loops of the backend the test is built with
// (platform::kEventLoopChoices: io_uring and epoll on Linux, kqueue through
// "auto" on DragonFly), so that a suite instantiated with them covers each
// loop of whichever backend it links.
#ifndef SYSV_TESTS_TESTING_EVENT_LOOPS_H_
#define SYSV_TESTS_TESTING_EVENT_LOOPS_H_

#include <string>

#include "gtest/gtest.h"

namespace sysv::testing {

// The --event_loop values, for ::testing::ValuesIn.
const char* const* BackendEventLoopsBegin();
const char* const* BackendEventLoopsEnd();

// A test name for one of them: "io_uring" is "IoUring", "epoll" "Epoll".
std::string EventLoopTestName(const ::testing::TestParamInfo<const char*>& info);

}  // namespace sysv::testing

// INSTANTIATE_TEST_SUITE_P(EventLoops, Suite, SYSV_BACKEND_EVENT_LOOPS, ...).
#define SYSV_BACKEND_EVENT_LOOPS \
  ::testing::ValuesIn(::sysv::testing::BackendEventLoopsBegin(), ::sysv::testing::BackendEventLoopsEnd())

#endif  // SYSV_TESTS_TESTING_EVENT_LOOPS_H_
