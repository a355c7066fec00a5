#include "core/atomic_ref.h"

#include <atomic>
#include <cstdint>
#include <thread>

#include "gtest/gtest.h"

namespace sysv::core {
namespace {

TEST(BuiltinAtomicRefTest, LoadsAndStoresThePlainObject) {
  uint32_t word = 7;
  BuiltinAtomicRef<uint32_t> ref(word);
  EXPECT_EQ(ref.load(std::memory_order_acquire), 7u);
  ref.store(42, std::memory_order_release);
  EXPECT_EQ(word, 42u);
  int32_t pid = -1;
  BuiltinAtomicRef<int32_t>(pid).store(1234);
  EXPECT_EQ(BuiltinAtomicRef<int32_t>(pid).load(std::memory_order_relaxed), 1234);
}

// Release/acquire pairs as std::atomic_ref's do: a reader that sees the
// flag sees the data written before it (message passing, many rounds so a
// wrong mapping of the orders has a chance to show on weaker hardware; on
// x86 this mostly checks that the operations are the atomic ones).
TEST(BuiltinAtomicRefTest, ReleaseAcquirePublishesData) {
  constexpr uint32_t kRounds = 20000;
  uint32_t data = 0;
  uint32_t flag = 0;
  std::thread writer([&] {
    for (uint32_t round = 1; round <= kRounds; ++round) {
      while (BuiltinAtomicRef<uint32_t>(flag).load(std::memory_order_acquire) != 0) {
      }
      BuiltinAtomicRef<uint32_t>(data).store(round, std::memory_order_relaxed);
      BuiltinAtomicRef<uint32_t>(flag).store(1, std::memory_order_release);
    }
  });
  for (uint32_t round = 1; round <= kRounds; ++round) {
    while (BuiltinAtomicRef<uint32_t>(flag).load(std::memory_order_acquire) != 1) {
    }
    ASSERT_EQ(BuiltinAtomicRef<uint32_t>(data).load(std::memory_order_relaxed), round);
    BuiltinAtomicRef<uint32_t>(flag).store(0, std::memory_order_release);
  }
  writer.join();
}

}  // namespace
}  // namespace sysv::core
