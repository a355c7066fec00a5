// A message that carries who sent it, its place in the sender's sequence
// and a checksum of its body: chaos tests log identities to find messages
// lost or received twice, and the checksum finds damaged ones.
#ifndef SYSV_TESTS_TESTING_STAMPED_MESSAGE_H_
#define SYSV_TESTS_TESTING_STAMPED_MESSAGE_H_

#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

namespace sysv::testing {

struct StampedMessage {
  long mtype;
  uint32_t sender;
  uint32_t serial;
  uint32_t sum;
  char body[100];
};
// The mtext length msgsnd and msgrcv are given.
inline constexpr size_t kStampedText = sizeof(StampedMessage) - sizeof(long);

// FNV-1a over the identity and the body.
inline uint32_t StampedSum(const StampedMessage& m) {
  uint32_t hash = 2166136261u ^ m.sender ^ (m.serial << 8);
  for (char c : m.body) hash = (hash ^ static_cast<unsigned char>(c)) * 16777619u;
  return hash;
}

// Message `serial` of `sender`: type 1 + serial % 3, a body that follows
// from both, and its checksum.
inline void Stamp(StampedMessage& m, uint32_t sender, uint32_t serial) {
  m.mtype = 1 + (serial % 3);
  m.sender = sender;
  m.serial = serial;
  for (size_t i = 0; i < sizeof(m.body); ++i) m.body[i] = static_cast<char>(sender * 31 + serial * 7 + i);
  m.sum = StampedSum(m);
}

// One number for the message's identity, for sets of sent and received.
inline uint64_t StampedId(const StampedMessage& m) { return (uint64_t{m.sender} << 32) | m.serial; }

// A thread that reads the StampedId()s a test's processes write to the pipe
// `fd` into `*into` (and counts them in `*count`, if given) until every
// writer has closed it: the pipe never fills while the test runs. Join it
// after the writers are gone.
inline std::thread DrainStampedIds(int fd, std::vector<uint64_t>* into, std::atomic<size_t>* count = nullptr) {
  return std::thread([fd, into, count] {
    uint64_t record;
    while (read(fd, &record, sizeof(record)) == sizeof(record)) {
      into->push_back(record);
      if (count != nullptr) count->fetch_add(1, std::memory_order_relaxed);
    }
  });
}

}  // namespace sysv::testing

#endif  // SYSV_TESTS_TESTING_STAMPED_MESSAGE_H_
