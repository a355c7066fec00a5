// Message queues: one producer and one consumer at three message sizes, a
// request/reply ping-pong on one queue and on two, and four producers with
// four consumers on one queue. Queues are created with the default limits (msgmnb 16384 bytes on
// both sides), so an 8 KiB stream runs with at most two messages queued.
// Every process opens the queue before the clock starts (OpenQueue()).
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "tools/bench/scenario.h"
#include "tools/bench/scenario_support.h"

namespace sysv::bench {
namespace {

constexpr size_t kMaxText = 8192;
constexpr long kNeverSent = LONG_MAX;

struct Message {
  long mtype;
  char mtext[kMaxText];
};

// Makes queue `id` this process's before anything is timed: for libsysv
// the first msgsnd or msgrcv on a queue asks the daemon for it and maps it,
// a cost objects/ measures and the streams should not. A receive of a type
// nobody sends, without waiting: 0 or the errno.
int OpenQueue(const BenchApi& api, int id) {
  long mtype = 0;  // msgsz 0: the type is all there is to store
  if (api.msgrcv(id, &mtype, 0, kNeverSent, IPC_NOWAIT) >= 0) return EIO;
  return errno == ENOMSG ? 0 : errno;
}

// Sends `count` messages of `bytes` bytes, type `type`; 0 or the errno.
int SendMany(const BenchApi& api, int id, long count, size_t bytes, long type) {
  auto message = std::make_unique<Message>();
  message->mtype = type;
  std::memset(message->mtext, 'm', bytes);
  for (long i = 0; i < count; ++i) {
    if (api.msgsnd(id, message.get(), bytes, 0) != 0) return errno;
  }
  return 0;
}

// Receives `count` messages of any type; 0 or the errno.
int ReceiveMany(const BenchApi& api, int id, long count) {
  auto message = std::make_unique<Message>();
  for (long i = 0; i < count; ++i) {
    if (api.msgrcv(id, message.get(), kMaxText, 0, 0) < 0) return errno;
  }
  return 0;
}

// A child produces, this process consumes: messages per second.
absl::StatusOr<Sample> Stream(const BenchApi& api, const RunSize& size, size_t bytes) {
  absl::StatusOr<ScopedObject> queue = ScopedObject::Create(api, ScopedObject::kMsg, 0);
  if (!queue.ok()) return queue.status();
  const int id = queue->id();
  // Long enough for a steady state (the first messages fill the queue).
  const long count = size.Count(bytes >= 8192 ? 20000 : 200000, 200);
  WorkerGroup workers;
  absl::Status spawned = workers.Spawn([&api, id, count, bytes]() { return SendMany(api, id, count, bytes, 1); },
                                       [&api, id]() { return OpenQueue(api, id); });
  if (!spawned.ok()) return spawned;
  if (const int err = OpenQueue(api, id); err != 0) {
    errno = err;
    return CallFailed(api, "msgrcv");
  }
  if (absl::Status started = workers.Start(); !started.ok()) return started;
  Stopwatch watch;
  if (const int err = ReceiveMany(api, id, count); err != 0) {
    errno = err;
    return CallFailed(api, "msgrcv");
  }
  const double seconds = watch.Seconds();
  if (absl::Status done = workers.Wait(); !done.ok()) return done;
  return Sample{static_cast<double>(count), seconds};
}

// This process sends a 64-byte request of type 1, a child answers with type
// 2: round trips per second.
absl::StatusOr<Sample> PingPong(const BenchApi& api, const RunSize& size, Placement placement) {
  absl::StatusOr<ScopedObject> queue = ScopedObject::Create(api, ScopedObject::kMsg, 0);
  if (!queue.ok()) return queue.status();
  const int id = queue->id();
  const long rounds = size.Count(20000, 200);
  constexpr size_t kBytes = 64;
  WorkerGroup workers;
  const absl::StatusOr<int> own_cpu = PlacePartner(placement);
  if (!own_cpu.ok()) return own_cpu.status();
  absl::Status spawned = workers.Spawn([&api, id, rounds]() {
    auto message = std::make_unique<Message>();
    for (long i = 0; i < rounds; ++i) {
      if (api.msgrcv(id, message.get(), kMaxText, 1, 0) < 0) return errno;
      message->mtype = 2;
      if (api.msgsnd(id, message.get(), kBytes, 0) != 0) return errno;
    }
    return 0;
  }, [&api, id]() { return OpenQueue(api, id); });
  if (!spawned.ok()) return spawned;
  if (const int err = OpenQueue(api, id); err != 0) {
    errno = err;
    return CallFailed(api, "msgrcv");
  }
  if (absl::Status placed = PlaceSelf(*own_cpu); !placed.ok()) return placed;
  if (absl::Status started = workers.Start(); !started.ok()) return started;
  auto message = std::make_unique<Message>();
  std::memset(message->mtext, 'p', kBytes);
  Stopwatch watch;
  for (long i = 0; i < rounds; ++i) {
    message->mtype = 1;
    if (api.msgsnd(id, message.get(), kBytes, 0) != 0) return CallFailed(api, "msgsnd");
    if (api.msgrcv(id, message.get(), kMaxText, 2, 0) < 0) return CallFailed(api, "msgrcv");
  }
  const double seconds = watch.Seconds();
  if (absl::Status done = workers.Wait(); !done.ok()) return done;
  return Sample{static_cast<double>(rounds), seconds};
}

// The classic client/server pair: requests on one queue, replies on
// another, 64 B, msgtyp 0 on both sides; this process is the client.
// Round trips per second.
absl::StatusOr<Sample> RequestReply(const BenchApi& api, const RunSize& size) {
  absl::StatusOr<ScopedObject> requests = ScopedObject::Create(api, ScopedObject::kMsg, 0);
  if (!requests.ok()) return requests.status();
  absl::StatusOr<ScopedObject> replies = ScopedObject::Create(api, ScopedObject::kMsg, 0);
  if (!replies.ok()) return replies.status();
  const int in = requests->id();
  const int out = replies->id();
  const long rounds = size.Count(20000, 200);
  constexpr size_t kBytes = 64;
  auto open_both = [&api, in, out]() {
    const int err = OpenQueue(api, in);
    return err != 0 ? err : OpenQueue(api, out);
  };
  WorkerGroup workers;
  absl::Status spawned = workers.Spawn([&api, in, out, rounds]() {
    auto message = std::make_unique<Message>();
    for (long i = 0; i < rounds; ++i) {
      const ssize_t got = api.msgrcv(in, message.get(), kMaxText, 0, 0);
      if (got < 0) return errno;
      if (api.msgsnd(out, message.get(), static_cast<size_t>(got), 0) != 0) return errno;
    }
    return 0;
  }, open_both);
  if (!spawned.ok()) return spawned;
  if (const int err = open_both(); err != 0) {
    errno = err;
    return CallFailed(api, "msgrcv");
  }
  if (absl::Status started = workers.Start(); !started.ok()) return started;
  auto message = std::make_unique<Message>();
  message->mtype = 1;
  std::memset(message->mtext, 'r', kBytes);
  Stopwatch watch;
  for (long i = 0; i < rounds; ++i) {
    if (api.msgsnd(in, message.get(), kBytes, 0) != 0) return CallFailed(api, "msgsnd");
    if (api.msgrcv(out, message.get(), kMaxText, 0, 0) < 0) return CallFailed(api, "msgrcv");
  }
  const double seconds = watch.Seconds();
  if (absl::Status done = workers.Wait(); !done.ok()) return done;
  return Sample{static_cast<double>(rounds), seconds};
}

// Four producers and four consumers, 64-byte messages, one queue: messages
// per second through the queue.
absl::StatusOr<Sample> ManyToMany(const BenchApi& api, const RunSize& size) {
  absl::StatusOr<ScopedObject> queue = ScopedObject::Create(api, ScopedObject::kMsg, 0);
  if (!queue.ok()) return queue.status();
  const int id = queue->id();
  constexpr int kSide = 4;
  constexpr size_t kBytes = 64;
  const long each = size.Count(80000, 400) / kSide;
  WorkerGroup workers;
  auto open = [&api, id]() { return OpenQueue(api, id); };
  for (int w = 0; w < kSide; ++w) {
    absl::Status spawned = workers.Spawn([&api, id, each]() { return SendMany(api, id, each, kBytes, 1); }, open);
    if (!spawned.ok()) return spawned;
    spawned = workers.Spawn([&api, id, each]() { return ReceiveMany(api, id, each); }, open);
    if (!spawned.ok()) return spawned;
  }
  if (absl::Status started = workers.Start(); !started.ok()) return started;
  Stopwatch watch;
  if (absl::Status done = workers.Wait(); !done.ok()) return done;
  return Sample{static_cast<double>(each * kSide), watch.Seconds()};
}

}  // namespace

void AddMsgScenarios(std::vector<Scenario>& out) {
  for (size_t bytes : {size_t{64}, size_t{1024}, size_t{8192}}) {
    const std::string label = bytes >= 1024 ? absl::StrCat(bytes / 1024, "KiB") : absl::StrCat(bytes, "B");
    // The target covers the 64-byte stream only.
    std::optional<double> target;
    if (bytes == 64) target = 10.0;
    out.push_back({absl::StrCat("msg/1p1c/", label),
                   absl::StrCat("1 producer process, 1 consumer, ", label, " messages"), "message",
                   Figure::kRate, target, false,
                   [bytes](const BenchApi& api, const RunSize& size) { return Stream(api, size, bytes); }});
  }
  AddPingPongs(out, "msg/pingpong", "request and reply between two processes, 64 B, one queue", 2.0,
               PingPong);
  out.push_back({"msg/request-reply", "client and server, requests on one queue, replies on another, 64 B, msgtyp 0",
                 "round trip", Figure::kRate, 3.0, false, RequestReply});
  out.push_back({"msg/4x4", "4 producer and 4 consumer processes, 64 B, one queue", "message", Figure::kRate,
                 1.0, false, ManyToMany});
}

}  // namespace sysv::bench
