#include "backends/linux/content_file.h"

#include "backends/common/testing/content_file_conformance.h"
#include "gtest/gtest.h"

// The typed suite is instantiated in its own namespace (gtest's rule).
namespace sysv::backend::testing {
namespace {

struct LinuxContentFile {
  static constexpr auto Open = &::sysv::linux_backend::OpenContentFile;
  static constexpr auto ForEach = &::sysv::linux_backend::ForEachOpenDescriptor;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Linux, ContentFileConformanceTest, LinuxContentFile);

}  // namespace
}  // namespace sysv::backend::testing
