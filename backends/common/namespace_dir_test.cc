// The namespace directory rules (namespace_dir.h) on directories this test
// makes. Where it can (root, no sandbox), it also gives directories to
// another uid (2104) to see them refused; elsewhere those cases skip. The attacks themselves, as
// real users, are in //tests/security:namespace_takeover_test.
#include "backends/common/namespace_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "backends/common/environment.h"
#include "core/ipc/errno_status.h"
#include "gtest/gtest.h"

namespace sysv::backend {
namespace {

using core::ErrnoOf;

constexpr uid_t kOtherUid = 2104;

class NamespaceDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    base_ = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/nsdir-XXXXXX");
    ASSERT_NE(mkdtemp(base_.data()), nullptr);
  }
  void TearDown() override { std::filesystem::remove_all(base_); }

  std::string Dir(const std::string& name, mode_t mode) {
    const std::string path = base_ + "/" + name;
    EXPECT_EQ(mkdir(path.c_str(), mode), 0);
    EXPECT_EQ(chmod(path.c_str(), mode), 0);
    return path;
  }

  std::string base_;
};

TEST_F(NamespaceDirTest, OwnPrivateAndSharedDirectoriesAreAccepted) {
  for (mode_t mode : {0700, 0755, 01777}) {
    absl::StatusOr<VerifiedDir> dir = OpenNamespaceDir({Dir(absl::StrCat("d", mode), mode), true});
    ASSERT_TRUE(dir.ok()) << dir.status();
    EXPECT_EQ(dir->owner, geteuid());
    EXPECT_EQ(dir->mode, mode);
  }
}

TEST(SocketModeTest, PrivateForThePerUserDefaultElseShared) {
  EXPECT_EQ(SocketMode({"/x", true}), 0600u);
  EXPECT_EQ(SocketMode({"/x", false}), 0666u);
}

TEST_F(NamespaceDirTest, WritableByOthersWithoutStickyIsRefused) {
  for (mode_t mode : {0775, 0777, 0757}) {
    const std::string path = Dir(absl::StrCat("d", mode), mode);
    absl::StatusOr<VerifiedDir> dir = OpenNamespaceDir({path, false});
    ASSERT_FALSE(dir.ok());
    EXPECT_EQ(ErrnoOf(dir.status()), EPERM);
    EXPECT_TRUE(absl::StrContains(dir.status().message(), path)) << dir.status();
    EXPECT_TRUE(absl::StrContains(dir.status().message(), absl::StrFormat("mode %04o", mode))) << dir.status();
  }
}

TEST_F(NamespaceDirTest, SymlinkFileAndMissingDirectory) {
  const std::string real = Dir("real", 0700);
  const std::string link = base_ + "/link";
  ASSERT_EQ(symlink(real.c_str(), link.c_str()), 0);
  EXPECT_EQ(ErrnoOf(OpenNamespaceDir({link, false}).status()), EPERM);
  const std::string file = base_ + "/file";
  close(open(file.c_str(), O_CREAT | O_WRONLY, 0600));
  EXPECT_EQ(ErrnoOf(OpenNamespaceDir({file, false}).status()), EPERM);
  EXPECT_EQ(ErrnoOf(OpenNamespaceDir({base_ + "/none", false}).status()), ENOENT);
}

TEST_F(NamespaceDirTest, AnotherUsersDirectoryIsRefused) {
  const std::string path = Dir("theirs", 0755);
  // Root only, and outside Bazel's sandbox (which maps no other uid).
  if (chown(path.c_str(), kOtherUid, kOtherUid) != 0) GTEST_SKIP() << "cannot give a directory to uid " << kOtherUid;
  for (bool per_user : {true, false}) {
    absl::StatusOr<VerifiedDir> dir = OpenNamespaceDir({path, per_user});
    ASSERT_FALSE(dir.ok());
    EXPECT_EQ(ErrnoOf(dir.status()), EPERM);
    EXPECT_TRUE(absl::StrContains(dir.status().message(), absl::StrCat("owned by uid ", kOtherUid))) << dir.status();
  }
  // CreateNamespaceDir finds it made already and refuses it the same way.
  EXPECT_EQ(ErrnoOf(CreateNamespaceDir({path, true}).status()), EPERM);
}

TEST_F(NamespaceDirTest, PerUserDirectoryIsCreatedPrivateOrNarrowed) {
  const std::string fresh = base_ + "/fresh";
  const mode_t old_umask = umask(0);
  absl::StatusOr<VerifiedDir> made = CreateNamespaceDir({fresh, true});
  umask(old_umask);
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_EQ(made->mode, 0700u);
  const std::string old = Dir("old", 0755);
  absl::StatusOr<VerifiedDir> narrowed = CreateNamespaceDir({old, true});
  ASSERT_TRUE(narrowed.ok()) << narrowed.status();
  struct stat st;
  ASSERT_EQ(stat(old.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  // A named one keeps its mode, and a new one is made `named_mode`.
  const std::string shared = Dir("shared", 0755);
  ASSERT_TRUE(CreateNamespaceDir({shared, false}).ok());
  ASSERT_EQ(stat(shared.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

TEST_F(NamespaceDirTest, OpenOwnEntryRefusesSymlinksHardLinksAndOthersFiles) {
  absl::StatusOr<VerifiedDir> dir = CreateNamespaceDir({Dir("ns", 01777), false});
  ASSERT_TRUE(dir.ok()) << dir.status();
  const std::string ns = base_ + "/ns";
  const std::string target = base_ + "/target";
  close(open(target.c_str(), O_CREAT | O_WRONLY, 0600));
  ASSERT_EQ(symlink(target.c_str(), (ns + "/lock").c_str()), 0);
  ASSERT_EQ(link(target.c_str(), (ns + "/hard").c_str()), 0);
  ASSERT_EQ(symlink(base_.c_str(), (ns + "/state").c_str()), 0);
  for (const char* name : {"lock", "hard"}) {
    absl::StatusOr<UniqueFd> fd = OpenOwnEntry(dir->fd.get(), name, ns + "/" + name, O_RDWR | O_CREAT, 0644);
    EXPECT_EQ(ErrnoOf(fd.status()), EPERM) << name;
  }
  EXPECT_EQ(ErrnoOf(OpenOwnEntry(dir->fd.get(), "state", ns + "/state", O_RDONLY | O_DIRECTORY).status()), EPERM);
  absl::StatusOr<UniqueFd> fresh = OpenOwnEntry(dir->fd.get(), "log", ns + "/log", O_RDWR | O_CREAT, 0644);
  EXPECT_TRUE(fresh.ok()) << fresh.status();
  if (fchown(fresh->get(), kOtherUid, kOtherUid) == 0) {  // root, unsandboxed
    EXPECT_EQ(ErrnoOf(OpenOwnEntry(dir->fd.get(), "log", ns + "/log", O_RDWR).status()), EPERM);
  }
}

TEST(EnvironmentTest, OurVariableTreatsEmptyAsUnset) {
  ASSERT_FALSE(SecureExecution());
  setenv("SYSVIPC_ENVIRONMENT_TEST", "", 1);
  EXPECT_EQ(OurVariable("SYSVIPC_ENVIRONMENT_TEST"), nullptr);
  setenv("SYSVIPC_ENVIRONMENT_TEST", "x", 1);
  ASSERT_NE(OurVariable("SYSVIPC_ENVIRONMENT_TEST"), nullptr);
  EXPECT_STREQ(OurVariable("SYSVIPC_ENVIRONMENT_TEST"), "x");
}

}  // namespace
}  // namespace sysv::backend
