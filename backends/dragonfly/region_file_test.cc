// The DragonFly names for region files resolve to the POSIX implementation
// (tested in full by backends/common/posix_region_file_test.cc): one round
// trip through them, as the daemon makes it.
#include "backends/dragonfly/region_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "backends/common/unique_fd.h"
#include "gtest/gtest.h"

namespace sysv::dragonfly_backend {
namespace {

using ::sysv::backend::UniqueFd;

TEST(RegionFileTest, CreateMapAndHandOutReadOnly) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string templ = absl::StrCat(base != nullptr ? base : "/tmp", "/regionXXXXXX");
  ASSERT_NE(mkdtemp(templ.data()), nullptr) << std::strerror(errno);
  UniqueFd dir(open(templ.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(dir.valid());

  absl::StatusOr<UniqueFd> fd = CreateRegionFile(dir.get(), "0.1", 8192);
  ASSERT_TRUE(fd.ok()) << fd.status();
  absl::StatusOr<UniqueFd> ro = ReopenReadOnlyAt(dir.get(), "0.1", fd->get());
  ASSERT_TRUE(ro.ok()) << ro.status();
  absl::StatusOr<MappedRegion> writer = MappedRegion::Map(fd->get(), 8192, true);
  absl::StatusOr<MappedRegion> reader = MappedRegion::Map(ro->get(), 8192, false);
  ASSERT_TRUE(writer.ok() && reader.ok());
  static_cast<char*>(writer->data())[100] = 'x';
  EXPECT_EQ(static_cast<const char*>(reader->data())[100], 'x');
  EXPECT_EQ(FileSize(ro->get()).value(), 8192u);
  EXPECT_TRUE(UnlinkRegionFile(dir.get(), "0.1").ok());
  EXPECT_FALSE(OpenRegionFile(dir.get(), "0.1", false).ok());
}

}  // namespace
}  // namespace sysv::dragonfly_backend
