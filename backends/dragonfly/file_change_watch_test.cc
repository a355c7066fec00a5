// FileChangeWatch and RestoreFileExtent over kqueue_sys.h: here against the
// Linux double (EVFILT_VNODE over inotify), the same file as a DragonFly
// test would be. POSIX calls only.
#include "backends/dragonfly/file_change_watch.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "backends/common/unique_fd.h"
#include "core/ipc/errno_status.h"
#include "gtest/gtest.h"

namespace sysv::dragonfly_backend {
namespace {

using ::sysv::backend::UniqueFd;

constexpr int kTag = 7;
constexpr int kOtherTag = 9;

bool Readable(int fd, int timeout_ms) {
  struct pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) == 1;
}

class FileChangeWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/file_change_watch_XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    path_ = pattern;
    dir_ = UniqueFd(open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(dir_.valid());
  }
  void TearDown() override {
    std::string command = "rm -rf '" + path_ + "'";
    ASSERT_EQ(std::system(command.c_str()), 0);
  }

  UniqueFd MakeFile(const std::string& name, off_t size) {
    UniqueFd fd(openat(dir_.get(), name.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    EXPECT_TRUE(fd.valid()) << std::strerror(errno);
    EXPECT_EQ(ftruncate(fd.get(), size), 0);
    return fd;
  }

  // Everything the watch reports within a second, as "tag:name", sorted.
  // Bounded in time: with polled files the watch's timer makes it readable
  // every poll period.
  static std::vector<std::string> Drain(FileChangeWatch& watch, bool* overflowed) {
    std::vector<std::string> seen;
    *overflowed = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
    while (std::chrono::steady_clock::now() < deadline && Readable(watch.fd(), seen.empty() ? 1000 : 100)) {
      bool more = false;
      for (const FileChangeWatch::Change& change : watch.Read(&more)) {
        seen.push_back(std::to_string(change.tag) + ":" + change.name);
      }
      *overflowed |= more;
    }
    std::sort(seen.begin(), seen.end());
    seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
    return seen;
  }

  std::string path_;
  UniqueFd dir_;
};

TEST_F(FileChangeWatchTest, TruncateAndWriteThroughADescriptorAreReported) {
  UniqueFd region = MakeFile("region", 4096);
  UniqueFd other = MakeFile("other", 4096);
  absl::StatusOr<FileChangeWatch> watch = FileChangeWatch::Create();
  ASSERT_TRUE(watch.ok()) << watch.status();
  ASSERT_TRUE(watch->Add(dir_.get(), kTag).ok());
  bool overflowed = true;
  EXPECT_TRUE(Drain(*watch, &overflowed).empty()) << "files present at Add() are not changes";

  ASSERT_EQ(ftruncate(region.get(), 64 << 20), 0);  // a client grows it
  EXPECT_EQ(Drain(*watch, &overflowed), std::vector<std::string>{"7:region"});
  EXPECT_FALSE(overflowed);

  ASSERT_EQ(ftruncate(region.get(), 0), 0);  // ... cuts it
  EXPECT_EQ(Drain(*watch, &overflowed), std::vector<std::string>{"7:region"});

  ASSERT_EQ(pwrite(other.get(), "x", 1, 1 << 20), 1);  // writes past its end
  EXPECT_EQ(Drain(*watch, &overflowed), std::vector<std::string>{"7:other"});
  EXPECT_FALSE(Readable(watch->fd(), 100));
}

TEST_F(FileChangeWatchTest, StoresThroughAMappingAreNotReported) {
  UniqueFd region = MakeFile("region", 4096);
  absl::StatusOr<FileChangeWatch> watch = FileChangeWatch::Create();
  ASSERT_TRUE(watch.ok());
  ASSERT_TRUE(watch->Add(dir_.get(), kTag).ok());
  void* map = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, region.get(), 0);
  ASSERT_NE(map, MAP_FAILED);
  for (int i = 0; i < 4096; ++i) static_cast<char*>(map)[i] = static_cast<char>(i);
  ASSERT_EQ(munmap(map, 4096), 0);
  EXPECT_FALSE(Readable(watch->fd(), 300));
}

TEST_F(FileChangeWatchTest, FilesCreatedLaterAreWatchedAndReported) {
  absl::StatusOr<FileChangeWatch> watch = FileChangeWatch::Create();
  ASSERT_TRUE(watch.ok());
  ASSERT_TRUE(watch->Add(dir_.get(), kTag).ok());
  UniqueFd late = MakeFile("late", 4096);
  bool overflowed = false;
  // Reported once found: it may have been resized before its note was set.
  EXPECT_EQ(Drain(*watch, &overflowed), std::vector<std::string>{"7:late"});
  ASSERT_EQ(ftruncate(late.get(), 1 << 20), 0);
  EXPECT_EQ(Drain(*watch, &overflowed), std::vector<std::string>{"7:late"});
  // Not a regular file: never opened or reported.
  ASSERT_EQ(mkfifoat(dir_.get(), "fifo", 0600), 0);
  EXPECT_TRUE(Drain(*watch, &overflowed).empty());
}

TEST_F(FileChangeWatchTest, ARemovedFileIsLetGoAndAReplacementWatched) {
  UniqueFd old_file = MakeFile("region", 4096);
  absl::StatusOr<FileChangeWatch> watch = FileChangeWatch::Create();
  ASSERT_TRUE(watch.ok());
  ASSERT_TRUE(watch->Add(dir_.get(), kTag).ok());
  ASSERT_EQ(unlinkat(dir_.get(), "region", 0), 0);
  bool overflowed = false;
  Drain(*watch, &overflowed);
  // The old file, still open here, is no longer the name's.
  ASSERT_EQ(ftruncate(old_file.get(), 1 << 20), 0);
  EXPECT_TRUE(Drain(*watch, &overflowed).empty());
  // A new file under the same name (made aside and renamed in, as the
  // daemon makes its files) is watched.
  UniqueFd made = MakeFile("region.tmp", 4096);
  ASSERT_EQ(renameat(dir_.get(), "region.tmp", dir_.get(), "region"), 0);
  EXPECT_EQ(Drain(*watch, &overflowed), std::vector<std::string>{"7:region"});
  ASSERT_EQ(ftruncate(made.get(), 1 << 20), 0);
  EXPECT_EQ(Drain(*watch, &overflowed), std::vector<std::string>{"7:region"});
}

TEST_F(FileChangeWatchTest, TagsSayWhichDirectory) {
  char pattern[] = "/tmp/file_change_watch_XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::string second_path = pattern;
  UniqueFd second(open(pattern, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  UniqueFd in_second(openat(second.get(), "ledger", O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  ASSERT_TRUE(in_second.valid());
  UniqueFd in_first = MakeFile("ledger", 4096);
  absl::StatusOr<FileChangeWatch> created = FileChangeWatch::Create();
  ASSERT_TRUE(created.ok());
  FileChangeWatch watch = *std::move(created);  // moved: still watching
  ASSERT_TRUE(watch.Add(dir_.get(), kTag).ok());
  ASSERT_TRUE(watch.Add(second.get(), kOtherTag).ok());
  ASSERT_EQ(ftruncate(in_second.get(), 8192), 0);
  bool overflowed = false;
  EXPECT_EQ(Drain(watch, &overflowed), std::vector<std::string>{"9:ledger"});
  ASSERT_EQ(ftruncate(in_first.get(), 8192), 0);
  EXPECT_EQ(Drain(watch, &overflowed), std::vector<std::string>{"7:ledger"});
  std::string command = "rm -rf '" + second_path + "'";
  ASSERT_EQ(std::system(command.c_str()), 0);
}

// Past its descriptor limit the watch polls: those files are still
// reported when resized, and the watch holds no more descriptors than
// allowed.
TEST_F(FileChangeWatchTest, FilesBeyondTheDescriptorLimitArePolled) {
  std::vector<UniqueFd> files;
  for (int i = 0; i < 5; ++i) files.push_back(MakeFile("region" + std::to_string(i), 4096));
  absl::StatusOr<FileChangeWatch> watch = FileChangeWatch::Create(/*max_descriptors=*/2);
  ASSERT_TRUE(watch.ok()) << watch.status();
  ASSERT_TRUE(watch->Add(dir_.get(), kTag).ok());
  EXPECT_EQ(watch->watched_files(), 2u);
  EXPECT_EQ(watch->polled_files(), 3u);
  bool overflowed = true;
  EXPECT_TRUE(Drain(*watch, &overflowed).empty()) << "nothing changed yet";
  EXPECT_FALSE(overflowed);
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(ftruncate(files[i].get(), 1 << 20), 0);
    EXPECT_EQ(Drain(*watch, &overflowed), std::vector<std::string>{"7:region" + std::to_string(i)});
  }
  // Room made by a removal goes to a polled file.
  ASSERT_EQ(unlinkat(dir_.get(), "region0", 0), 0);
  ASSERT_EQ(unlinkat(dir_.get(), "region1", 0), 0);
  Drain(*watch, &overflowed);
  EXPECT_EQ(watch->watched_files(), 2u);
  EXPECT_EQ(watch->polled_files(), 1u);
  ASSERT_EQ(ftruncate(files[4].get(), 0), 0);
  EXPECT_EQ(Drain(*watch, &overflowed), std::vector<std::string>{"7:region4"});
}

// Files made one after another, each Read() as the daemon does when the
// watch is readable, are all found, without a scan of the whole directory
// per file (n^2/2 entries read for n files: what made
// //tests/reliability:load_test time out on this backend).
TEST_F(FileChangeWatchTest, ScansArePacedWhenFilesComeFast) {
  absl::StatusOr<FileChangeWatch> watch = FileChangeWatch::Create();
  ASSERT_TRUE(watch.ok());
  ASSERT_TRUE(watch->Add(dir_.get(), kTag).ok());
  constexpr int kFiles = 3000;
  std::vector<std::string> seen;
  bool overflowed = false;
  for (int i = 0; i < kFiles; ++i) {
    MakeFile("f" + std::to_string(i), 4096);
    if (Readable(watch->fd(), 0)) {
      for (const FileChangeWatch::Change& change : watch->Read(&overflowed)) seen.push_back(change.name);
    }
  }
  for (const std::string& name : Drain(*watch, &overflowed)) seen.push_back(name.substr(2));
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  EXPECT_EQ(seen.size(), static_cast<size_t>(kFiles));
  EXPECT_EQ(watch->watched_files(), static_cast<size_t>(kFiles));
  const uint64_t quadratic = uint64_t{kFiles} * kFiles / 2;
  EXPECT_LT(watch->entries_scanned(), quadratic / 8) << "scans not paced";
}

TEST(RestoreFileExtentTest, CutsBackAndGrowsOnlyWhenAsked) {
  char name[] = "/tmp/restore_extent_XXXXXX";
  UniqueFd fd(mkstemp(name));
  ASSERT_TRUE(fd.valid());
  unlink(name);
  struct stat st;
  ASSERT_EQ(ftruncate(fd.get(), 64 << 20), 0);
  absl::StatusOr<bool> changed = RestoreFileExtent(fd.get(), 4096, /*grow_shorter=*/false);
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(*changed);
  ASSERT_EQ(fstat(fd.get(), &st), 0);
  EXPECT_EQ(st.st_size, 4096);
  changed = RestoreFileExtent(fd.get(), 4096, false);
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(*changed);

  ASSERT_EQ(ftruncate(fd.get(), 100), 0);
  changed = RestoreFileExtent(fd.get(), 4096, /*grow_shorter=*/false);
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(*changed);
  ASSERT_EQ(fstat(fd.get(), &st), 0);
  EXPECT_EQ(st.st_size, 100);
  changed = RestoreFileExtent(fd.get(), 4096, /*grow_shorter=*/true);
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(*changed);
  ASSERT_EQ(fstat(fd.get(), &st), 0);
  EXPECT_EQ(st.st_size, 4096);

  EXPECT_EQ(core::ErrnoOf(RestoreFileExtent(-1, 4096, true).status()), EBADF);
}

}  // namespace
}  // namespace sysv::dragonfly_backend
