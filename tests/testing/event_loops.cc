#include "tests/testing/event_loops.h"

#include <cctype>
#include <iterator>
#include <string>

#include "backends/platform.h"

namespace sysv::testing {

const char* const* BackendEventLoopsBegin() { return std::begin(platform::kEventLoopChoices); }
const char* const* BackendEventLoopsEnd() { return std::end(platform::kEventLoopChoices); }

std::string EventLoopTestName(const ::testing::TestParamInfo<const char*>& info) {
  // CamelCase of the value, underscores dropped: gtest names are [A-Za-z0-9].
  std::string name;
  bool upper = true;
  for (const char* c = info.param; *c != '\0'; ++c) {
    if (*c == '_') {
      upper = true;
      continue;
    }
    name += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(*c))) : *c;
    upper = false;
  }
  return name;
}

}  // namespace sysv::testing
