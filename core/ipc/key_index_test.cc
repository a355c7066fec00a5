// Tests of the object table's key index: what the daemon links a client
// finds, exactly while the entry holds the key; chains of colliding keys;
// unlinking from any place of a chain; a rebuild; and links a reader
// cannot trust (loops, out of range) that make it give up, not answer.
#include "core/ipc/key_index.h"

#include <cstdint>
#include <optional>
#include <vector>

#include "core/ipc/ipc_constants.h"
#include "core/ipc/object_table.h"
#include "gtest/gtest.h"

namespace sysv::core {
namespace {

constexpr uint32_t kCapacity = 64;

class KeyIndexTest : public ::testing::Test {
 protected:
  KeyIndexTest() : words_(ObjectTableSize(kCapacity) / 8, 0) {
    table_.emplace(*ObjectTable::Format(words_.data(), ObjectTableSize(kCapacity), IpcKind::kSem, kCapacity));
  }

  // What the registry does for a new object with a key.
  void Create(int32_t index, Key key) {
    ObjectRecord record;
    record.state = EntryState::kLive;
    record.perm.key = key;
    record.perm.seq = 1;
    table_->Write(index, record);
    LinkKey(*table_, index, key);
  }

  // What IpcRegistry::DropKey does.
  void Drop(int32_t index, Key key) {
    UnlinkKey(*table_, index, key);
    ObjectRecord record = *table_->Read(index);
    record.perm.key = kIpcPrivate;
    table_->Write(index, record);
  }

  // Keys whose bucket is the same as `key`'s, `count` of them.
  static std::vector<Key> Colliding(Key key, int count) {
    std::vector<Key> keys;
    for (Key k = key + 1; static_cast<int>(keys.size()) < count; ++k) {
      if (KeyBucket(k, kCapacity) == KeyBucket(key, kCapacity)) keys.push_back(k);
    }
    return keys;
  }

  std::vector<uint64_t> words_;
  std::optional<ObjectTable> table_;
};

TEST_F(KeyIndexTest, FindsWhatTheDaemonLinked) {
  Create(5, 0x1234);
  Create(9, 0x4321);
  EXPECT_EQ(FindKey(*table_, 0x1234), 5);
  EXPECT_EQ(FindKey(*table_, 0x4321), 9);
  EXPECT_EQ(FindKey(*table_, 0x9999), std::nullopt);
  EXPECT_EQ(FindKey(*table_, kIpcPrivate), std::nullopt);
}

TEST_F(KeyIndexTest, DroppedKeyIsNotFound) {
  Create(5, 0x1234);
  Drop(5, 0x1234);
  EXPECT_EQ(FindKey(*table_, 0x1234), std::nullopt);
  // The index reused for another key.
  Create(5, 0x5555);
  EXPECT_EQ(FindKey(*table_, 0x5555), 5);
  EXPECT_EQ(FindKey(*table_, 0x1234), std::nullopt);
}

TEST_F(KeyIndexTest, CollidingKeysAreEachFoundAndUnlinkedFromAnyPlace) {
  const Key first = 0x100;
  std::vector<Key> keys = Colliding(first, 3);
  keys.insert(keys.begin(), first);
  for (int i = 0; i < 4; ++i) Create(10 + i, keys[static_cast<size_t>(i)]);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(FindKey(*table_, keys[static_cast<size_t>(i)]), 10 + i);
  // The middle of the chain, then its head (the last linked), then its tail.
  Drop(11, keys[1]);
  Drop(13, keys[3]);
  Drop(10, keys[0]);
  EXPECT_EQ(FindKey(*table_, keys[2]), 12);
  for (int i : {0, 1, 3}) EXPECT_EQ(FindKey(*table_, keys[static_cast<size_t>(i)]), std::nullopt);
}

TEST_F(KeyIndexTest, AnEntryThatNoLongerHoldsTheKeyIsNotAnswered) {
  Create(5, 0x1234);
  // The entry rewritten without its links changing (a reader between the
  // daemon's two steps): the entry decides.
  ObjectRecord record = *table_->Read(5);
  record.perm.key = 0x7777;
  table_->Write(5, record);
  EXPECT_EQ(FindKey(*table_, 0x1234), std::nullopt);
  record.state = EntryState::kDying;
  record.perm.key = 0x1234;
  table_->Write(5, record);
  EXPECT_EQ(FindKey(*table_, 0x1234), std::nullopt);
}

TEST_F(KeyIndexTest, RebuildLinksEveryLiveKeyAndForgetsStaleLinks) {
  Create(3, 0x42);
  ObjectRecord stale;  // a free entry a previous daemon left linked
  table_->Write(7, stale);
  LinkKey(*table_, 7, 0x43);
  ObjectRecord unlinked;  // a live entry a previous daemon never linked
  unlinked.state = EntryState::kLive;
  unlinked.perm.key = 0x44;
  table_->Write(20, unlinked);
  RebuildKeyIndex(*table_);
  EXPECT_EQ(FindKey(*table_, 0x42), 3);
  EXPECT_EQ(FindKey(*table_, 0x43), std::nullopt);
  EXPECT_EQ(FindKey(*table_, 0x44), 20);
  for (uint32_t i = 0; i < kCapacity; ++i) {
    if (i != 3 && i != 20) {
      EXPECT_EQ(table_->Links(static_cast<int32_t>(i)).key_next.load(), 0u) << i;
    }
  }
}

TEST_F(KeyIndexTest, ReaderGivesUpOnLoopsAndLinksOutOfRange) {
  Create(5, 0x1234);
  const Key other = Colliding(0x1234, 1)[0];
  // A loop of two entries neither of which holds `other`.
  table_->Links(5).key_next.store(6);
  table_->Links(6).key_next.store(6);
  EXPECT_EQ(FindKey(*table_, other), std::nullopt);
  table_->Links(5).key_next.store(kCapacity + 7);
  EXPECT_EQ(FindKey(*table_, other), std::nullopt);
  EXPECT_EQ(FindKey(*table_, 0x1234), 5);
}

}  // namespace
}  // namespace sysv::core
