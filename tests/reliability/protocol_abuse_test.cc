// Protocol abuse from raw socket clients: whatever one connection sends, the
// daemon stays up, answers with a clear error or drops that connection, and
// keeps serving everyone else with their objects intact.
//
// Each test keeps a normal libsysv client beside the abuser (a segment with
// known contents and a semaphore with a known value, made before the abuse)
// and checks after the abuse that the client still works and the data is
// unchanged. The daemon's survival is checked by its pid, not by timing.
//
// Message queues: give the bystander a queue holding a known message (in
// SetUp and ExpectDaemonServesOthers) when they exist.
#include <fcntl.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/protocol/codec.h"
#include "core/protocol/wire.h"
#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/reliability/raw_client.h"
#include "tests/testing/event_loops.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

namespace wire = core::wire;
using testing::FreshNamespaceDir;
using testing::HandMadeMessage;
using testing::RawClient;
using testing::RawReply;
using testing::TestDaemon;

constexpr char kPayload[] = "bytes that must survive the abuse";

class ProtocolAbuseTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<TestDaemon>(FreshNamespaceDir("abuse"),
                                           std::vector<std::string>{std::string("--event_loop=") + GetParam()});
    daemon_->Start();
    // The bystander's objects, made through libsysv before any abuse.
    shm_id_ = sysv_shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0600);
    ASSERT_GE(shm_id_, 0) << std::strerror(errno);
    void* p = sysv_shmat(shm_id_, nullptr, 0);
    ASSERT_NE(p, reinterpret_cast<void*>(-1)) << std::strerror(errno);
    shm_ = static_cast<char*>(p);
    std::strcpy(shm_ + 5000, kPayload);
    sem_id_ = sysv_semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    ASSERT_GE(sem_id_, 0) << std::strerror(errno);
    ASSERT_EQ(sysv_semctl(sem_id_, 0, SETVAL, 7), 0) << std::strerror(errno);
  }

  void TearDown() override {
    if (shm_ != nullptr) sysv_shmdt(shm_);
    if (shm_id_ >= 0) sysv_shmctl(shm_id_, IPC_RMID, nullptr);
    if (sem_id_ >= 0) sysv_semctl(sem_id_, 0, IPC_RMID);
  }

  // The daemon is alive, the bystander's objects and data are intact, and
  // it can still make new objects and run semop (through the daemon: a new
  // segment and a new set need it).
  void ExpectDaemonServesOthers() {
    int status = 0;
    ASSERT_EQ(waitpid(daemon_->pid(), &status, WNOHANG), 0) << "sysvipcd died, status " << status;
    EXPECT_STREQ(shm_ + 5000, kPayload);
    shmid_ds ds{};
    ASSERT_EQ(sysv_shmctl(shm_id_, IPC_STAT, &ds), 0) << std::strerror(errno);
    EXPECT_EQ(ds.shm_segsz, 8192u);
    EXPECT_EQ(ds.shm_nattch, 1u);
    EXPECT_EQ(sysv_semctl(sem_id_, 0, GETVAL), 7);
    sembuf down{0, -1, IPC_NOWAIT};
    EXPECT_EQ(sysv_semop(sem_id_, &down, 1), 0) << std::strerror(errno);
    sembuf up{0, 1, IPC_NOWAIT};
    EXPECT_EQ(sysv_semop(sem_id_, &up, 1), 0) << std::strerror(errno);
    EXPECT_EQ(sysv_semctl(sem_id_, 0, GETVAL), 7);

    const int fresh = sysv_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    ASSERT_GE(fresh, 0) << std::strerror(errno);
    void* q = sysv_shmat(fresh, nullptr, SHM_RDONLY);
    EXPECT_NE(q, reinterpret_cast<void*>(-1)) << std::strerror(errno);
    if (q != reinterpret_cast<void*>(-1)) {
      EXPECT_EQ(sysv_shmdt(q), 0);
    }
    EXPECT_EQ(sysv_shmctl(fresh, IPC_RMID, nullptr), 0);
    const int fresh_set = sysv_semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    ASSERT_GE(fresh_set, 0) << std::strerror(errno);
    sembuf two[2] = {{0, 1, 0}, {1, 2, SEM_UNDO}};
    EXPECT_EQ(sysv_semop(fresh_set, two, 2), 0) << std::strerror(errno);
    EXPECT_EQ(sysv_semctl(fresh_set, 1, GETVAL), 2);
    EXPECT_EQ(sysv_semctl(fresh_set, 0, IPC_RMID), 0);
  }

  // A connection that got past registration.
  RawClient Registered() {
    RawClient client(daemon_->dir());
    EXPECT_TRUE(client.ok()) << std::strerror(client.connect_error());
    EXPECT_EQ(client.Register(), 0);
    return client;
  }

  std::unique_ptr<TestDaemon> daemon_;
  int shm_id_ = -1;
  char* shm_ = nullptr;
  int sem_id_ = -1;
};

// The daemon's answer to a message it cannot serve: a reply with `error`,
// or the connection closed. Never silence (the client would hang).
void ExpectErrorOrDrop(RawReply reply, int error, const char* what) {
  SCOPED_TRACE(what);
  ASSERT_NE(reply.kind, RawReply::Kind::kTimeout) << "the daemon neither answered nor closed";
  if (reply.kind == RawReply::Kind::kEof) return;
  ASSERT_EQ(reply.kind, RawReply::Kind::kMessage) << "recvmsg errno " << reply.error;
  ASSERT_TRUE(reply.Status().has_value()) << "the reply does not decode";
  EXPECT_EQ(*reply.Status(), error);
  EXPECT_TRUE(reply.fds.empty()) << "an error reply carried descriptors";
}

TEST_P(ProtocolAbuseTest, TruncatedMessagesAreRefused) {
  // Shorter than a header: nothing to answer to, so the connection goes.
  for (size_t size : {1u, 4u, 8u, 15u}) {
    RawClient client(daemon_->dir());
    ASSERT_TRUE(client.ok());
    std::vector<uint8_t> bytes = wire::EncodeRequest<wire::Op::kRegister>(1, wire::RegisterRequest{});
    bytes.resize(size);
    const RawReply reply = client.RoundTrip(bytes);
    EXPECT_EQ(reply.kind, RawReply::Kind::kEof) << size << " bytes";
  }
  // A whole header whose body is cut short, length field honest or not.
  RawClient client = Registered();
  std::vector<uint8_t> bytes =
      wire::EncodeRequest<wire::Op::kShmGet>(7, wire::ShmGetRequest{IPC_PRIVATE, IPC_CREAT | 0600, 4096});
  bytes.resize(bytes.size() - 3);
  ExpectErrorOrDrop(client.RoundTrip(bytes), EPROTO, "body short, length says whole");
  RawClient honest = Registered();
  const uint32_t length = static_cast<uint32_t>(bytes.size());
  std::memcpy(bytes.data() + offsetof(wire::Header, length), &length, sizeof(length));
  ExpectErrorOrDrop(honest.RoundTrip(bytes), EPROTO, "body short, length honest");
  ExpectDaemonServesOthers();
}

TEST_P(ProtocolAbuseTest, OversizedMessagesAreRefused) {
  // One byte too many for the operation, then more than the daemon's buffer,
  // then far more: each must be answered or dropped, never left hanging.
  RawClient a = Registered();
  std::vector<uint8_t> bytes = wire::EncodeRequest<wire::Op::kShmCtl>(3, wire::ShmCtlRequest{});
  bytes.push_back(0);
  const uint32_t length = static_cast<uint32_t>(bytes.size());
  std::memcpy(bytes.data() + offsetof(wire::Header, length), &length, sizeof(length));
  ExpectErrorOrDrop(a.RoundTrip(bytes), EPROTO, "one byte more than the body");

  for (size_t size : {size_t{wire::kMaxMessageSize} + 1, size_t{64} * 1024}) {
    RawClient b = Registered();
    std::vector<uint8_t> big = HandMadeMessage(wire::kMagic, wire::kVersion,
                                               static_cast<uint16_t>(wire::Op::kShmGet),
                                               static_cast<uint32_t>(size), 9, size - sizeof(wire::Header), 0xab);
    ExpectErrorOrDrop(b.RoundTrip(big), EPROTO, "larger than any message");
  }
  ExpectDaemonServesOthers();
}

TEST_P(ProtocolAbuseTest, WrongMagicDropsTheConnection) {
  RawClient client = Registered();
  std::vector<uint8_t> bytes = wire::EncodeRequest<wire::Op::kShmCtl>(5, wire::ShmCtlRequest{});
  bytes[0] ^= 0xff;
  const RawReply reply = client.RoundTrip(bytes);
  // Not this protocol at all: nothing trustworthy to answer to.
  EXPECT_EQ(reply.kind, RawReply::Kind::kEof);
  // HTTP, for instance, on a fresh connection.
  RawClient http(daemon_->dir());
  ASSERT_TRUE(http.ok());
  const std::string get = "GET / HTTP/1.0\r\n\r\n";
  EXPECT_EQ(http.RoundTrip(std::vector<uint8_t>(get.begin(), get.end())).kind, RawReply::Kind::kEof);
  ExpectDaemonServesOthers();
}

TEST_P(ProtocolAbuseTest, OtherProtocolVersionGetsAClearError) {
  // A client of another version must learn that it speaks another version:
  // a reply carrying EPROTONOSUPPORT (in the daemon's version, so that the
  // client's own decoder also names the mismatch), not a silent hang-up.
  for (uint16_t version : {static_cast<uint16_t>(wire::kVersion + 1), static_cast<uint16_t>(wire::kVersion - 1),
                           uint16_t{0xffff}}) {
    SCOPED_TRACE(version);
    RawClient client(daemon_->dir());
    ASSERT_TRUE(client.ok());
    std::vector<uint8_t> bytes = wire::EncodeRequest<wire::Op::kRegister>(77, wire::RegisterRequest{});
    std::memcpy(bytes.data() + offsetof(wire::Header, version), &version, sizeof(version));
    const RawReply reply = client.RoundTrip(bytes);
    ASSERT_EQ(reply.kind, RawReply::Kind::kMessage) << "dropped without an answer";
    ASSERT_TRUE(reply.Header().has_value());
    EXPECT_EQ(reply.Header()->version, wire::kVersion);
    EXPECT_EQ(reply.Header()->request_id, 77u);
    EXPECT_EQ(reply.Status(), EPROTONOSUPPORT);
    EXPECT_TRUE(reply.fds.empty());
  }
  ExpectDaemonServesOthers();
}

TEST_P(ProtocolAbuseTest, UnknownOperationsGetEopnotsupp) {
  RawClient client = Registered();
  for (uint16_t op : {uint16_t{0}, uint16_t{50}, uint16_t{200}, uint16_t{0xffff}}) {
    SCOPED_TRACE(op);
    const std::vector<uint8_t> bytes =
        HandMadeMessage(wire::kMagic, wire::kVersion, op, sizeof(wire::Header) + 8, 100 + op, 8);
    const RawReply reply = client.RoundTrip(bytes);
    ASSERT_EQ(reply.kind, RawReply::Kind::kMessage);
    EXPECT_EQ(reply.Status(), EOPNOTSUPP);
    EXPECT_EQ(reply.Header()->request_id, 100u + op);
  }
  // The connection is still good afterwards.
  const RawReply info = client.Call<wire::Op::kShmCtl>(wire::ShmCtlRequest{0, IPC_INFO});
  auto decoded = testing::DecodeRawReply<wire::Op::kShmCtl>(info, client.last_request_id());
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->status.error, 0);
  ExpectDaemonServesOthers();
}

TEST_P(ProtocolAbuseTest, RequestsBeforeRegistrationAreRefused) {
  RawClient client(daemon_->dir());
  ASSERT_TRUE(client.ok());
  // Every operation but kRegister needs a registered connection; none may
  // act, and none may hand out a descriptor.
  {
    const RawReply reply = client.Call<wire::Op::kShmGet>(wire::ShmGetRequest{0x1234, IPC_CREAT | 0666, 4096});
    ASSERT_EQ(reply.kind, RawReply::Kind::kMessage);
    EXPECT_EQ(reply.Status(), EPROTO);
  }
  {
    const RawReply reply = client.Call<wire::Op::kShmAttach>(wire::ShmAttachRequest{shm_id_, 0});
    ASSERT_EQ(reply.kind, RawReply::Kind::kMessage);
    EXPECT_EQ(reply.Status(), EPROTO);
    EXPECT_TRUE(reply.fds.empty());
  }
  {
    const RawReply reply = client.Call<wire::Op::kSemOpen>(wire::SemOpenRequest{sem_id_, 0});
    ASSERT_EQ(reply.kind, RawReply::Kind::kMessage);
    EXPECT_EQ(reply.Status(), EPROTO);
    EXPECT_TRUE(reply.fds.empty());
  }
  {
    const RawReply reply = client.Call<wire::Op::kShmCtl>(wire::ShmCtlRequest{shm_id_, IPC_RMID});
    ASSERT_EQ(reply.kind, RawReply::Kind::kMessage);
    EXPECT_EQ(reply.Status(), EPROTO);
  }
  // Nothing was made or removed.
  EXPECT_EQ(sysv_shmget(0x1234, 0, 0), -1);
  EXPECT_EQ(errno, ENOENT);
  // Registering twice on one connection is harmless.
  EXPECT_EQ(client.Register(), 0);
  EXPECT_EQ(client.Register(), 0);
  ExpectDaemonServesOthers();
}

TEST_P(ProtocolAbuseTest, PipelinedRequestsThatAreNeverReadDoNotStallTheDaemon) {
  // A client that writes requests and never reads the replies fills its
  // receive queue; the daemon must not block on it (it drops the client).
  RawClient client = Registered();
  ASSERT_EQ(fcntl(client.fd(), F_SETFL, O_NONBLOCK), 0);
  int sent = 0;
  const std::vector<uint8_t> bytes =
      wire::EncodeRequest<wire::Op::kShmCtl>(1, wire::ShmCtlRequest{0, IPC_INFO});
  for (; sent < 20000; ++sent) {
    if (client.Send(bytes) != 0) break;
  }
  EXPECT_GT(sent, 0);
  ExpectDaemonServesOthers();
}

TEST_P(ProtocolAbuseTest, DescriptorsSentToTheDaemonAreClosed) {
  const int before = testing::OpenFdCountOf(daemon_->pid());
  ASSERT_GT(before, 0);
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  {
    RawClient client = Registered();
    const std::vector<uint8_t> info =
        wire::EncodeRequest<wire::Op::kShmCtl>(1, wire::ShmCtlRequest{0, IPC_INFO});
    // A few descriptors with a valid request, many times: the request is
    // answered, the descriptors closed.
    for (int i = 0; i < 200; ++i) {
      const RawReply reply = client.RoundTrip(info, {pipe_fds[0], pipe_fds[1], pipe_fds[0]});
      ASSERT_EQ(reply.kind, RawReply::Kind::kMessage) << "round " << i;
      EXPECT_EQ(reply.Status(), 0);
    }
    // More descriptors than the daemon accepts in one message (up to the
    // kernel's SCM_MAX_FD): answered with an error or dropped, and none kept.
    std::vector<int> many(250, pipe_fds[1]);
    ExpectErrorOrDrop(client.RoundTrip(info, many), EPROTO, "250 descriptors");
  }
  {
    // Descriptors with garbage, and with an empty-bodied header.
    RawClient client = Registered();
    ExpectErrorOrDrop(client.RoundTrip({1, 2, 3}, {pipe_fds[0]}), EPROTO, "garbage with a descriptor");
  }
  ExpectDaemonServesOthers();
  // The pipe's write end is ours alone again: the daemon kept no copy, so
  // closing ours gives EOF on the read end.
  close(pipe_fds[1]);
  char c;
  EXPECT_EQ(read(pipe_fds[0], &c, 1), 0) << "the daemon still holds a copy of the write end";
  close(pipe_fds[0]);
  // A backend whose storage take-back holds a descriptor per region file
  // (DragonFly's kqueue watch, paced) lets go of a gone client's ledger
  // watch a moment after the ledger is removed: wait for that, briefly.
  const absl::Time give_up = absl::Now() + absl::Seconds(2);
  while (testing::OpenFdCountOf(daemon_->pid()) > before + 1 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_LE(testing::OpenFdCountOf(daemon_->pid()), before + 1);
}

TEST_P(ProtocolAbuseTest, GarbageStormOnManyConnections) {
  // Deterministic pseudo-random messages, many of them valid-looking, on a
  // set of connections of another process (a kRegister claiming a fresh
  // image may empty the sender's own attach ledger, which is its right, so
  // the storm must not come from the bystander's process). Whatever happens
  // to the storm's connections, every message is answered or its
  // connection dropped, and the bystander is unaffected.
  const std::string dir = daemon_->dir();
  const int bystander_ids[2] = {shm_id_, sem_id_};
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    uint64_t state = 0x9e3779b97f4a7c15ull;
    auto next = [&state] {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      return state;
    };
    std::vector<std::unique_ptr<RawClient>> clients;
    for (int i = 0; i < 16; ++i) {
      clients.push_back(std::make_unique<RawClient>(dir));
      if (i % 2 == 0) clients.back()->Register();
    }
    for (int i = 0; i < 2000; ++i) {
      RawClient& client = *clients[next() % clients.size()];
      if (!client.ok()) continue;
      const uint16_t op = static_cast<uint16_t>(next() % 12);
      const size_t body = next() % 48;
      std::vector<uint8_t> bytes = HandMadeMessage(
          wire::kMagic, wire::kVersion, op, static_cast<uint32_t>(sizeof(wire::Header) + body),
          static_cast<uint32_t>(i), body);
      for (size_t b = sizeof(wire::Header); b < bytes.size(); ++b) bytes[b] = static_cast<uint8_t>(next());
      // This test is about the protocol: keep a root client's random
      // commands off the bystander's objects (root may remove anything).
      if (bytes.size() >= sizeof(wire::Header) + sizeof(int32_t)) {
        int32_t id;
        std::memcpy(&id, bytes.data() + sizeof(wire::Header), sizeof(id));
        if (id == bystander_ids[0] || id == bystander_ids[1]) {
          id ^= 0x40000;
          std::memcpy(bytes.data() + sizeof(wire::Header), &id, sizeof(id));
        }
      }
      const RawReply reply = client.RoundTrip(bytes, {}, 5000);
      if (reply.kind == RawReply::Kind::kTimeout) _exit(10);  // neither answered nor dropped
      if (reply.kind == RawReply::Kind::kEof) client.Close();
    }
    _exit(0);
  }
  // Meanwhile the bystander keeps working, in between the storm's messages.
  int status = 0;
  int rounds = 0;
  pid_t done = 0;
  while ((done = waitpid(child, &status, WNOHANG)) == 0) {
    ++rounds;
    shmid_ds ds{};
    ASSERT_EQ(sysv_shmctl(shm_id_, IPC_STAT, &ds), 0) << std::strerror(errno);
    ASSERT_EQ(ds.shm_segsz, 8192u);
    sembuf down{0, -1, IPC_NOWAIT};
    sembuf up{0, 1, IPC_NOWAIT};
    ASSERT_EQ(sysv_semop(sem_id_, &down, 1), 0) << std::strerror(errno);
    ASSERT_EQ(sysv_semop(sem_id_, &up, 1), 0) << std::strerror(errno);
    const int fresh = sysv_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    ASSERT_GE(fresh, 0) << std::strerror(errno);
    ASSERT_EQ(sysv_shmctl(fresh, IPC_RMID, nullptr), 0);
    ASSERT_STREQ(shm_ + 5000, kPayload);
  }
  ASSERT_EQ(done, child);
  std::printf("%d bystander rounds during the storm\n", rounds);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "storm process status " << status << " (exit 10: a message got no answer)";
  ExpectDaemonServesOthers();
}

INSTANTIATE_TEST_SUITE_P(EventLoops, ProtocolAbuseTest, SYSV_BACKEND_EVENT_LOOPS, ::sysv::testing::EventLoopTestName);

}  // namespace
}  // namespace sysv
