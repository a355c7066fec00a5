#include "backends/dragonfly/content_file.h"

#include "backends/common/testing/content_file_conformance.h"
#include "gtest/gtest.h"

// The typed suite is instantiated in its own namespace (gtest's rule).
namespace sysv::backend::testing {
namespace {

struct DragonFlyContentFile {
  static constexpr auto Open = &::sysv::dragonfly_backend::OpenContentFile;
  static constexpr auto ForEach = &::sysv::dragonfly_backend::ForEachOpenDescriptor;
};

INSTANTIATE_TYPED_TEST_SUITE_P(DragonFly, ContentFileConformanceTest, DragonFlyContentFile);

}  // namespace
}  // namespace sysv::backend::testing
