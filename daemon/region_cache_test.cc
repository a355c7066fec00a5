// The bounded cache of mapped regions (daemon/region_cache.h), alone and
// under the semaphore and queue stores with a capacity of a few mappings:
// what a store knows of an object must not depend on whether its region is
// mapped at the moment.
#include "daemon/region_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/common/namespace_layout.h"
#include "core/msg/msg_queue.h"
#include "core/sem/sem_set.h"
#include "daemon/msg_store.h"
#include "daemon/sem_store.h"
#include "gtest/gtest.h"

namespace sysv::daemon {
namespace {

// Sealed regions without a keeper: every set's region is a file, which
// these tests cut and read.
SealedObjects* NoKeeper() {
  static SealedObjects* const none = new SealedObjects;
  return none;
}

// A fresh directory, open, for a store's region files.
class StateDir {
 public:
  StateDir() {
    const char* tmp = std::getenv("TEST_TMPDIR");
    path_ = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/region-cache-XXXXXX");
    EXPECT_NE(mkdtemp(path_.data()), nullptr);
    fd_ = open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    EXPECT_GE(fd_, 0);
  }
  ~StateDir() {
    close(fd_);
    (void)!std::system(absl::StrCat("rm -rf '", path_, "'").c_str());
  }
  int fd() const { return fd_; }
  // Cuts region file (index, seq) to `size` bytes, as a client holding a
  // writable descriptor can.
  void Truncate(int32_t index, uint32_t seq, off_t size) const {
    const int file = openat(fd_, backend::SegmentFileName(index, seq).c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(file, 0);
    ASSERT_EQ(ftruncate(file, size), 0);
    close(file);
  }

 private:
  std::string path_;
  int fd_ = -1;
};

TEST(RegionCacheTest, KeepsTheMostRecentlyUsedWithinCapacity) {
  RegionCache<int> cache(2);
  cache.Insert(1, {{}, 10});
  cache.Insert(2, {{}, 20});
  ASSERT_NE(cache.Find(1), nullptr);  // 1 is now more recent than 2
  cache.Insert(3, {{}, 30});          // evicts 2
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.Find(2), nullptr);
  ASSERT_NE(cache.Find(1), nullptr);
  EXPECT_EQ(cache.Find(1)->view, 10);
  ASSERT_NE(cache.Find(3), nullptr);
  EXPECT_EQ(cache.Find(3)->view, 30);
  cache.Erase(1);
  EXPECT_EQ(cache.Find(1), nullptr);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(RegionCacheTest, NeverEvictsWhatItInserts) {
  RegionCache<int> cache(1);
  for (int i = 0; i < 5; ++i) {
    RegionCache<int>::Mapping& kept = cache.Insert(i, {{}, i});
    EXPECT_EQ(kept.view, i);
    ASSERT_NE(cache.Find(i), nullptr);
  }
  EXPECT_EQ(cache.size(), 1u);
}

TEST(SemStoreTest, SetsSurviveEviction) {
  StateDir dir;
  constexpr int kSets = 20;
  SemStore store(dir.fd(), NoKeeper(), /*mapped_capacity=*/3);
  for (int i = 0; i < kSets; ++i) {
    ASSERT_TRUE(store.Create(i, 7, 2, 1000 + i).ok());
    EXPECT_LE(store.mapped(), 3u);
  }
  for (int i = kSets - 1; i >= 0; --i) EXPECT_EQ(store.TimesOf(i, 7).ctime, 1000 + i);
  for (int i = 0; i < kSets; ++i) {
    core::SemSet* set = store.Find(i, 7);
    ASSERT_NE(set, nullptr) << i;
    EXPECT_EQ(set->SetVal(1, i + 1, core::SemSet::Caller{1, 1}), 0);
  }
  for (int i = kSets - 1; i >= 0; --i) {
    core::SemSet* set = store.Find(i, 7);
    ASSERT_NE(set, nullptr);
    EXPECT_EQ(set->GetVal(1), i + 1) << i;
    EXPECT_LE(store.mapped(), 3u);
  }
  EXPECT_EQ(store.Find(3, 8), nullptr);  // another seq
  std::set<int32_t> visited;
  store.ForEach([&](int32_t index, uint32_t, core::SemSet& set) {
    visited.insert(index);
    EXPECT_EQ(set.GetVal(1), index + 1);
  });
  EXPECT_EQ(visited.size(), static_cast<size_t>(kSets));
  store.Destroy(5, 7);
  EXPECT_EQ(store.Find(5, 7), nullptr);
}

TEST(SemStoreTest, RecoverFindsEverySet) {
  StateDir dir;
  {
    SemStore before(dir.fd(), NoKeeper(), 2);
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(before.Create(i, 1, 1, 50 + i).ok());
  }
  SemStore after(dir.fd(), NoKeeper(), 2);
  after.Recover([](int32_t index, uint32_t) -> std::optional<SemStore::Layout> {
    if (index == 4) return std::nullopt;
    return SemStore::Layout{1, 50 + index};
  });
  EXPECT_LE(after.mapped(), 2u);
  for (int i = 0; i < 6; ++i) {
    if (i == 4) {
      EXPECT_EQ(after.Find(i, 1), nullptr);
    } else {
      EXPECT_EQ(after.TimesOf(i, 1).ctime, 50 + i);
    }
  }
}

TEST(MsgStoreTest, QueuesSurviveEvictionAndOnlyOpenedOnesAreVisited) {
  StateDir dir;
  constexpr int kQueues = 12;
  MsgStore store(dir.fd(), NoKeeper(), /*mapped_capacity=*/2);
  for (int i = 0; i < kQueues; ++i) {
    ASSERT_TRUE(store.Create(i, 3, 16384, 2000 + i).ok());
    EXPECT_LE(store.mapped(), 2u);
  }
  // A larger qbytes grows the file while the queue is not mapped, and the
  // daemon's record of it outlives the mapping.
  ASSERT_TRUE(store.SetQbytes(0, 3, 65536, 3000).ok());
  for (int i = 1; i < kQueues; ++i) ASSERT_NE(store.Find(i, 3), nullptr);
  EXPECT_EQ(store.StatOf(0, 3).qbytes, 65536u);
  EXPECT_EQ(store.StatOf(0, 3).ctime, 3000);
  for (int i = 1; i < kQueues; ++i) {
    EXPECT_EQ(store.StatOf(i, 3).ctime, 2000 + i);
    EXPECT_EQ(store.StatOf(i, 3).qbytes, 16384u);
  }
  // Only queues a client was given a descriptor of can hold anything.
  std::set<int32_t> visited;
  store.ForEach([&](int32_t index, uint32_t, core::MsgQueue&) { visited.insert(index); });
  EXPECT_TRUE(visited.empty());
  ASSERT_TRUE(store.OpenForClient(4, 3, /*writable=*/true).ok());
  ASSERT_TRUE(store.OpenForClient(9, 3, /*writable=*/true).ok());
  store.ForEach([&](int32_t index, uint32_t, core::MsgQueue&) { visited.insert(index); });
  EXPECT_EQ(visited, (std::set<int32_t>{4, 9}));
  uint64_t messages = 1, bytes = 1;
  store.Totals(&messages, &bytes);
  EXPECT_EQ(messages, 0u);
  EXPECT_EQ(bytes, 0u);
  store.Destroy(9, 3);
  EXPECT_EQ(store.Find(9, 3), nullptr);
  EXPECT_LE(store.mapped(), 2u);
}

TEST(MsgStoreTest, RecoveredQueuesCountAsOpened) {
  StateDir dir;
  {
    MsgStore before(dir.fd(), NoKeeper(), 2);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(before.Create(i, 1, 16384, 70 + i).ok());
  }
  MsgStore after(dir.fd(), NoKeeper(), 2);
  after.Recover([](int32_t index, uint32_t) { return MsgStore::Layout{16384, 70 + index}; });
  std::set<int32_t> visited;
  after.ForEach([&](int32_t index, uint32_t, core::MsgQueue& queue) {
    visited.insert(index);
    EXPECT_EQ(queue.ReadStat().ctime, 70 + index);
  });
  EXPECT_EQ(visited.size(), 5u);
  EXPECT_LE(after.mapped(), 2u);
}

// Issue #12: a client cuts a region's file short under the daemon's
// mapping. The daemon's next touch reads zeros (the guard), and its next
// lookup repairs that set alone.
TEST(SemStoreTest, SetCutShortUnderItsMappingIsRepairedAlone) {
  StateDir dir;
  SemStore store(dir.fd(), NoKeeper(), 4);
  ASSERT_TRUE(store.Create(0, 1, 2, 100).ok());
  ASSERT_TRUE(store.Create(1, 1, 2, 101).ok());
  for (int32_t index : {0, 1}) ASSERT_EQ(store.Find(index, 1)->SetVal(1, 9, core::SemSet::Caller{1, 1}), 0);
  core::SemSet* victim = store.Find(0, 1);
  dir.Truncate(0, 1, 0);
  (void)victim->GetVal(1);  // SIGBUS without the guard
  EXPECT_TRUE(store.Faulted(0));
  EXPECT_FALSE(store.Faulted(1));
  core::SemSet* repaired = store.Find(0, 1);
  ASSERT_NE(repaired, nullptr);
  EXPECT_FALSE(store.Faulted(0));
  EXPECT_EQ(repaired->nsems(), 2);
  EXPECT_EQ(repaired->GetVal(1), 0);  // reset
  EXPECT_EQ(store.TimesOf(0, 1).ctime, 100);
  EXPECT_EQ(store.Find(1, 1)->GetVal(1), 9);
}

TEST(SemStoreTest, SetCutShortWhileUnmappedOrDownIsRepairedWhenMapped) {
  StateDir dir;
  {
    SemStore before(dir.fd(), NoKeeper(), 1);
    ASSERT_TRUE(before.Create(0, 1, 3, 200).ok());
    ASSERT_TRUE(before.Create(1, 1, 3, 201).ok());  // evicts 0
    dir.Truncate(0, 1, 0);
    ASSERT_NE(before.Find(0, 1), nullptr);
    EXPECT_EQ(before.Find(0, 1)->nsems(), 3);
    dir.Truncate(1, 1, 0);
  }
  SemStore after(dir.fd(), NoKeeper(), 4);
  after.Recover([](int32_t index, uint32_t) { return SemStore::Layout{3, 200 + index}; });
  for (int32_t index : {0, 1}) {
    core::SemSet* set = after.Find(index, 1);
    ASSERT_NE(set, nullptr) << index;
    EXPECT_EQ(set->nsems(), 3);
    EXPECT_EQ(after.TimesOf(index, 1).ctime, 200 + index);
  }
  // A descriptor handed out afterwards is of a file of the right size.
  dir.Truncate(0, 1, 0);
  absl::StatusOr<backend::UniqueFd> fd = after.OpenForClient(0, 1, true);
  ASSERT_TRUE(fd.ok());
  struct stat st {};
  ASSERT_EQ(fstat(fd->get(), &st), 0);
  EXPECT_GE(static_cast<size_t>(st.st_size), core::SemSet::RegionSize(3));
}

TEST(MsgStoreTest, QueueCutShortIsRepairedAloneAndKeepsItsQbytes) {
  StateDir dir;
  {
    MsgStore before(dir.fd(), NoKeeper(), 4);
    ASSERT_TRUE(before.Create(0, 1, 16384, 300).ok());
    ASSERT_TRUE(before.Create(1, 1, 16384, 301).ok());
    ASSERT_TRUE(before.SetQbytes(0, 1, 65536, 302).ok());
    core::MsgQueue* victim = before.Find(0, 1);
    ASSERT_NE(victim, nullptr);
    dir.Truncate(0, 1, 0);
    (void)victim->ReadStat();  // SIGBUS without the guard
    core::MsgQueue* repaired = before.Find(0, 1);
    ASSERT_NE(repaired, nullptr);
    EXPECT_EQ(repaired->ReadStat().qbytes, 65536u);
    EXPECT_EQ(before.StatOf(1, 1).qbytes, 16384u);
    dir.Truncate(0, 1, 0);
  }
  MsgStore after(dir.fd(), NoKeeper(), 4);
  after.Recover([](int32_t index, uint32_t) { return MsgStore::Layout{index == 0 ? 65536u : 16384u, 300}; });
  core::MsgQueue* queue = after.Find(0, 1);
  ASSERT_NE(queue, nullptr);
  EXPECT_EQ(queue->ReadStat().qbytes, 65536u);
  EXPECT_EQ(queue->ReadStat().qnum, 0u);
  EXPECT_EQ(after.StatOf(1, 1).ctime, 301);
}

}  // namespace
}  // namespace sysv::daemon
