// Differential test for message queues: generated sequences of msgget,
// msgsnd, msgrcv, msgctl and fork run against a private kernel IPC namespace
// and against a fresh sysvipcd; every result, errno, received type and
// payload (as a checksum) and msqid_ds field must agree.
//
// Calls that would sleep use IPC_NOWAIT, except in the fork steps: there
// children sleep in msgrcv (or in msgsnd on a full queue) while the parent
// sends (or receives), which shows who is served in which order.
#include <poll.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "backends/platform.h"
#include "gtest/gtest.h"
#include "tests/testing/differential.h"
#include "tests/testing/msg_api.h"
#include "tests/testing/process_state.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

using testing::MsgApi;
using testing::RelativePid;
using testing::TraceWriter;

constexpr size_t kMaxText = 20000;

struct Buffer {
  long mtype;
  char mtext[kMaxText];
};

// FNV-1a: equal payloads, equal sums.
uint32_t Checksum(const char* data, size_t n) {
  uint32_t hash = 2166136261u;
  for (size_t i = 0; i < n; ++i) hash = (hash ^ static_cast<unsigned char>(data[i])) * 16777619u;
  return hash;
}

using testing::AsleepInIpcWait;

// MSGMNB's default (the daemon's and the kernel's): the largest msg_qbytes
// IPC_SET may set without CAP_SYS_RESOURCE.
constexpr msglen_t kMsgmnb = 16384;

// Whether this process is in the initial user namespace, where its
// capabilities are the ones msgctl's capable() checks.
bool InInitialUserNamespace() {
  FILE* file = std::fopen("/proc/self/uid_map", "re");
  if (file == nullptr) return false;
  unsigned long inside = 1, outside = 1, count = 0;
  const bool initial = std::fscanf(file, "%lu %lu %lu", &inside, &outside, &count) == 3 && inside == 0 &&
                       outside == 0 && count == 4294967295ul;
  std::fclose(file);
  return initial;
}

// Whether the kernel lets this process raise msg_qbytes above MSGMNB: it
// holds CAP_SYS_RESOURCE (bit 24 of /proc/self/status's "CapEff:") in the
// initial user namespace (Bazel's sandbox is another). Root on the
// machines this runs on often lacks it.
bool KernelLetsRaiseQbytes() {
  if (!InInitialUserNamespace()) return false;
  FILE* file = std::fopen("/proc/self/status", "re");
  if (file == nullptr) return false;
  char line[256];
  unsigned long long effective = 0;
  while (std::fgets(line, sizeof(line), file) != nullptr) {
    if (std::sscanf(line, "CapEff: %llx", &effective) == 1) break;
  }
  std::fclose(file);
  return ((effective >> 24) & 1) != 0;
}

// Whether the backend lets this process do it: what the daemon will find
// in its credentials. The Linux backend reads the same capability from the
// kernel; the DragonFly backend (over its doubles too) has no capabilities
// and lets root, as DragonFly's own msgctl does (suser).
bool BackendLetsRaiseQbytes() {
  absl::StatusOr<core::Credentials> creds = platform::CurrentCredentials();
  return creds.ok() && platform::ReadIdMaps(getpid(), *creds).ok() && creds->cap_sys_resource &&
         creds->uid_map.empty();
}

// Whether a child has written its result (it has returned from its call).
bool HasResult(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 0) == 1;
}

class MsgRunner : testing::SequenceRunner {
 public:
  // `qbytes_limit`: the largest msg_qbytes IPC_SET asks for (a larger pick
  // is asked as this).
  MsgRunner(const MsgApi& api, uint32_t seed, bool literal_ids, TraceWriter& out,
            msglen_t qbytes_limit = UINT_MAX)
      : SequenceRunner(seed, literal_ids, out), api_(api), qbytes_limit_(qbytes_limit) {
    base_key_ = static_cast<key_t>(0x4d000 + (seed % 1000) * 16);
  }

  void Run(int steps) {
    for (step_ = 0; step_ < steps; ++step_) {
      switch (Pick(14)) {
        case 0:
        case 1:
          Get();
          break;
        case 2:
        case 3:
        case 4:
        case 5:
          Send();
          break;
        case 6:
        case 7:
        case 8:
          Receive();
          break;
        case 9:
          ForkReceivers();
          break;
        case 10:
          ForkSender();
          break;
        default:
          Ctl();
          break;
      }
    }
    for (int id : queues_) api_.msgctl(id, IPC_RMID, nullptr);
  }

 private:
  std::string Id(int id) const { return IdName(id, queues_, "q"); }
  int SomeQueue() {
    if (!queues_.empty() && Pick(8) != 0) return PickOf(queues_);
    return PickOf(std::vector<int>{-1, 0, 3, 32768, 99999});
  }
  void Forget(int id) { queues_.erase(std::remove(queues_.begin(), queues_.end(), id), queues_.end()); }

  void Get() {
    const key_t key = Pick(3) == 0 ? IPC_PRIVATE : base_key_ + static_cast<key_t>(Pick(3));
    int flags = PickOf(std::vector<int>{0, 0600, 0644, 0400, 0200, 0666});
    if (Pick(2)) flags |= IPC_CREAT;
    if (Pick(4) == 0) flags |= IPC_EXCL;
    const int id = api_.msgget(key, flags);
    if (id >= 0 && std::find(queues_.begin(), queues_.end(), id) == queues_.end()) queues_.push_back(id);
    Record(absl::StrFormat("msgget(key%+d, %#o) = %s", key == IPC_PRIVATE ? -1 : key - base_key_, flags,
                           id >= 0 ? Id(id) : Result(id)));
  }

  long SomeType() { return PickOf(std::vector<long>{1, 1, 2, 3, 5, 7, 100, 0, -1}); }
  size_t SomeSize() { return PickOf(std::vector<size_t>{0, 1, 8, 24, 25, 56, 80, 81, 100, 500, 1000, 4096, 8192, 8193}); }

  void Fill(Buffer& buffer, size_t size) {
    const uint32_t base = Pick(1u << 30);
    for (size_t i = 0; i < size && i < kMaxText; ++i) buffer.mtext[i] = static_cast<char>((base + i * 7) & 0xff);
  }

  // One msgsnd, never sleeping. Returns the line.
  std::string SendOne(int id, long type, size_t size, int flags, bool bad_pointer) {
    Fill(send_, size);
    send_.mtype = type;
    errno = 0;
    const int result = api_.msgsnd(id, bad_pointer ? reinterpret_cast<void*>(8) : &send_, size, flags);
    return absl::StrFormat("msgsnd(%s, type %d, %u bytes sum %08x, %#o%s) = %s", Id(id), type, size,
                           Checksum(send_.mtext, std::min(size, kMaxText)), flags, bad_pointer ? ", bad ptr" : "",
                           Result(result));
  }

  void Send() {
    const int id = SomeQueue();
    size_t size = SomeSize();
    if (Pick(30) == 0) size = static_cast<size_t>(-1);
    Record(SendOne(id, SomeType(), size, IPC_NOWAIT, Pick(25) == 0));
  }

  int SomeReceiveFlags(bool allow_sleep) {
    int flags = allow_sleep ? 0 : IPC_NOWAIT;
    if (Pick(3) == 0) flags |= MSG_NOERROR;
    if (Pick(5) == 0) flags |= MSG_EXCEPT;
    if (Pick(8) == 0) flags |= MSG_COPY;
    if (Pick(20) == 0) flags &= ~IPC_NOWAIT;  // MSG_COPY without IPC_NOWAIT: EINVAL
    if (!allow_sleep && !(flags & MSG_COPY)) flags |= IPC_NOWAIT;
    return flags;
  }

  std::string Received(long result) {
    if (result < 0) return Result(result);
    return absl::StrFormat("%d type %d sum %08x", result, recv_.mtype,
                           Checksum(recv_.mtext, static_cast<size_t>(result)));
  }

  void Receive() {
    const int id = SomeQueue();
    size_t bufsz = PickOf(std::vector<size_t>{0, 1, 24, 30, 100, 1000, 8192, 20000});
    if (Pick(30) == 0) bufsz = static_cast<size_t>(-1);
    const long type = PickOf(std::vector<long>{0, 0, 1, 2, 3, 5, -1, -3, -100, 7, LONG_MIN});
    const int flags = SomeReceiveFlags(/*allow_sleep=*/false);
    const bool bad_pointer = Pick(25) == 0;
    recv_.mtype = 0;
    errno = 0;
    // A huge bufsz with a real buffer would let a large message overrun it.
    const size_t passed = bufsz > kMaxText && bufsz != static_cast<size_t>(-1) ? kMaxText : bufsz;
    const long result = api_.msgrcv(id, bad_pointer ? reinterpret_cast<void*>(8) : &recv_,
                                    passed == static_cast<size_t>(-1) ? passed : passed, type, flags);
    Record(absl::StrFormat("msgrcv(%s, %u, type %d, %#o%s) = %s", Id(id), bufsz, type, flags,
                           bad_pointer ? ", bad ptr" : "", bad_pointer ? Result(result) : Received(result)));
    if (Pick(3) == 0) Stat(id);
  }

  void Stat(int id) {
    msqid_ds ds{};
    errno = 0;
    const int result = api_.msgctl(id, IPC_STAT, &ds);
    std::string line = absl::StrFormat("  IPC_STAT(%s) = %s", Id(id), Result(result));
    if (result == 0) AppendStat(line, ds);
    Record(line);
  }

  void AppendStat(std::string& line, const msqid_ds& ds) {
    absl::StrAppendFormat(&line,
                          " key%+d uid=%u gid=%u cuid=%u cgid=%u mode=%#o seq=%u qnum=%u cbytes=%u qbytes=%u "
                          "lspid=%s lrpid=%s stime=%s rtime=%s ctime=%s",
                          ds.msg_perm.__key == 0 ? -1 : ds.msg_perm.__key - base_key_, ds.msg_perm.uid,
                          ds.msg_perm.gid, ds.msg_perm.cuid, ds.msg_perm.cgid, ds.msg_perm.mode, ds.msg_perm.__seq,
                          ds.msg_qnum, ds.__msg_cbytes, ds.msg_qbytes, RelativePid(ds.msg_lspid, self_),
                          RelativePid(ds.msg_lrpid, self_), ds.msg_stime ? "set" : "0", ds.msg_rtime ? "set" : "0",
                          ds.msg_ctime ? "set" : "0");
  }

  void Ctl() {
    int id = SomeQueue();
    const int cmd = PickOf(std::vector<int>{IPC_STAT, IPC_STAT, IPC_STAT, IPC_SET, IPC_SET, IPC_RMID, IPC_INFO,
                                            MSG_INFO, MSG_STAT, MSG_STAT_ANY, 99, -1});
    if ((cmd == MSG_STAT || cmd == MSG_STAT_ANY) && Pick(2)) id = static_cast<int>(Pick(4));
    msqid_ds ds{};
    std::string detail;
    if (cmd == IPC_SET) {
      ds.msg_perm.uid = PickOf(std::vector<uid_t>{0, static_cast<uid_t>(-1)});
      ds.msg_perm.gid = 0;
      ds.msg_perm.mode = PickOf(std::vector<unsigned short>{0600, 0666, 0400, 0200, 01777});
      ds.msg_qbytes = std::min(qbytes_limit_, PickOf(std::vector<msglen_t>{0, 1, 50, 200, 1000, 16384, 16385, 100000}));
      detail = absl::StrFormat(" qbytes=%u mode=%#o", ds.msg_qbytes, ds.msg_perm.mode);
    }
    msqid_ds* arg = Pick(12) == 0 ? nullptr : &ds;
    errno = 0;
    const int result = api_.msgctl(id, cmd, arg);
    std::string line = absl::StrFormat("msgctl(%s, %d%s) = ", Id(id), cmd, detail);
    if (result == -1) {
      line += Result(result);
    } else if (cmd == MSG_STAT || cmd == MSG_STAT_ANY) {
      line += Id(result);
    } else {
      line += absl::StrCat(result);
    }
    if (result != -1 && arg != nullptr) {
      if (cmd == IPC_STAT || cmd == MSG_STAT || cmd == MSG_STAT_ANY) {
        AppendStat(line, ds);
      } else if (cmd == IPC_INFO || cmd == MSG_INFO) {
        const msginfo* info = reinterpret_cast<const msginfo*>(&ds);
        absl::StrAppendFormat(&line, " msgpool=%d msgmap=%d msgmax=%d msgmnb=%d msgmni=%d msgssz=%d msgtql=%d msgseg=%u",
                              info->msgpool, info->msgmap, info->msgmax, info->msgmnb, info->msgmni, info->msgssz,
                              info->msgtql, info->msgseg);
      }
    }
    if (cmd == IPC_RMID && result == 0) Forget(id);
    Record(line);
  }

  // Touches queue `id` without changing it (a MSG_COPY far past its end),
  // so that a forked child has registered and mapped the queue before the
  // call whose sleep the parent waits for.
  void WarmUp(int id) { api_.msgrcv(id, &recv_, 1, 1000000, MSG_COPY | IPC_NOWAIT); }

  // Forks a child that warms up, tells the parent, then runs `call` and
  // writes what it returned to the pipe it returns (or -1).
  template <typename Call>
  int ForkChild(int id, pid_t* pid, Call call) {
    int result_pipe[2];
    int ready_pipe[2];
    if (pipe(result_pipe) != 0) return -1;
    if (pipe(ready_pipe) != 0) return -1;
    *pid = fork();
    if (*pid == 0) {
      close(result_pipe[0]);
      close(ready_pipe[0]);
      alarm(10);  // never hangs the test
      WarmUp(id);
      (void)!write(ready_pipe[1], "r", 1);
      const std::string got = call();
      (void)!write(result_pipe[1], got.data(), got.size());
      _exit(0);
    }
    close(result_pipe[1]);
    close(ready_pipe[1]);
    char byte;
    (void)!read(ready_pipe[0], &byte, 1);
    close(ready_pipe[0]);
    // Asleep in the call (not just running towards it).
    for (int i = 0; i < 10000 && !AsleepInIpcWait(*pid); ++i) usleep(500);
    usleep(3000);
    return result_pipe[0];
  }

  static std::string ReadAll(int fd) {
    char got[256] = {};
    (void)!read(fd, got, sizeof(got) - 1);
    close(fd);
    return got;
  }

  // Children sleep in msgrcv for chosen types, in a known order; the parent
  // sends messages and records who got which.
  void ForkReceivers() {
    if (queues_.empty()) return;
    const int id = PickOf(queues_);
    const int receivers = 1 + static_cast<int>(Pick(3));
    struct Child {
      pid_t pid;
      int pipe;
      long type;
      int flags;
      size_t bufsz;
      bool done;
    };
    std::vector<Child> children;
    std::string line = absl::StrFormat("fork %d receivers on %s:", receivers, Id(id));
    for (int r = 0; r < receivers; ++r) {
      Child child{};
      child.type = PickOf(std::vector<long>{0, 1, 2, -2, 3});
      child.flags = Pick(3) == 0 ? MSG_NOERROR : (Pick(4) == 0 ? MSG_EXCEPT : 0);
      child.bufsz = PickOf(std::vector<size_t>{10, 100, 8192});
      child.pipe = ForkChild(id, &child.pid, [&] {
        errno = 0;
        return Received(api_.msgrcv(id, &recv_, child.bufsz, child.type, child.flags));
      });
      if (child.pipe < 0) return;
      absl::StrAppendFormat(&line, " [type %d flags %#o buf %u]", child.type, child.flags, child.bufsz);
      children.push_back(child);
    }
    const int sends = 1 + static_cast<int>(Pick(4));
    for (int s = 0; s < sends; ++s) {
      line += " | " + SendOne(id, PickOf(std::vector<long>{1, 2, 3}), PickOf(std::vector<size_t>{5, 50, 200}),
                              IPC_NOWAIT, false);
    }
    // Who was served is decided at send time: wait until every child has
    // either answered or sleeps again, then release the others one by one
    // with a message of the first one's type (which child takes it is the
    // kernel's order again).
    auto settle = [&] {
      // A wake-up may reach a sleeper's CPU a moment after the waker's call
      // returned; until then the sleeper still reads as asleep.
      usleep(5000);
      for (int i = 0; i < 10000; ++i) {
        bool settled = true;
        for (Child& child : children) {
          if (!child.done) child.done = HasResult(child.pipe);
          if (!child.done && !AsleepInIpcWait(child.pid)) settled = false;
        }
        if (settled) return;
        usleep(500);
      }
    };
    settle();
    for (Child& child : children) {
      for (int attempt = 0; attempt < 3 && !child.done; ++attempt) {
        Fill(send_, 1);
        send_.mtype = child.flags & MSG_EXCEPT ? child.type + 1 : (child.type > 0 ? child.type : 1);
        line += " | release " + SendOne(id, send_.mtype, 1, IPC_NOWAIT, false);
        usleep(2000);
        settle();
      }
    }
    for (Child& child : children) {
      if (!child.done) kill(child.pid, SIGKILL);
      int status = 0;
      waitpid(child.pid, &status, 0);
      absl::StrAppendFormat(&line, " | child got %s", ReadAll(child.pipe));
    }
    Record(line);
    Stat(id);
  }

  // A child sleeps in msgsnd on a full queue; the parent receives to make
  // room.
  void ForkSender() {
    if (queues_.empty()) return;
    const int id = PickOf(queues_);
    msqid_ds ds{};
    if (api_.msgctl(id, IPC_STAT, &ds) != 0 || ds.msg_qbytes > 2000 || ds.msg_qbytes == 0) return;
    std::string line = absl::StrFormat("fork sender on %s (qbytes %u):", Id(id), ds.msg_qbytes);
    for (int i = 0; i < 64; ++i) {
      Fill(send_, 100);
      send_.mtype = 2;
      if (api_.msgsnd(id, &send_, 100, IPC_NOWAIT) != 0) break;
    }
    // A message that fits an empty queue, so that the child can finish.
    const size_t size = std::min<size_t>(PickOf(std::vector<size_t>{10, 100}), ds.msg_qbytes);
    pid_t child = -1;
    const int pipe = ForkChild(id, &child, [&] {
      Fill(send_, size);
      send_.mtype = 9;
      errno = 0;
      return Result(api_.msgsnd(id, &send_, size, 0));
    });
    if (pipe < 0) return;
    Stat(id);
    // Receive one message at a time; after each, wait until the child has
    // either sent (and answered) or sleeps again.
    for (int i = 0; i < 100 && !HasResult(pipe); ++i) {
      errno = 0;
      const long got = api_.msgrcv(id, &recv_, kMaxText, 0, IPC_NOWAIT | MSG_NOERROR);
      absl::StrAppend(&line, " rcv ", Received(got));
      usleep(5000);  // see settle() in ForkReceivers()
      for (int k = 0; k < 10000 && !HasResult(pipe) && !AsleepInIpcWait(child); ++k) usleep(500);
      if (got < 0) break;  // empty: the child's message fits now
    }
    int status = 0;
    waitpid(child, &status, 0);
    absl::StrAppendFormat(&line, " | child msgsnd = %s", ReadAll(pipe));
    Record(line);
    Stat(id);
  }

  const MsgApi& api_;
  key_t base_key_;
  std::vector<int> queues_;
  Buffer send_{};
  Buffer recv_{};
  const msglen_t qbytes_limit_;
};

// Raising msg_qbytes above MSGMNB is the one step where the backends differ
// by design: Linux's kernel (and the Linux backend, which reads the same
// capability) needs CAP_SYS_RESOURCE, DragonFly's backend only root. Where
// this process's two answers differ (root without the capability, on the
// DragonFly backend), the sequences never ask for more than MSGMNB, so
// that every other step is still compared with the kernel; the step itself
// is checked by RootRaisingQbytesIsWhatTheBackendPromises.
msglen_t QbytesLimit() {
  return KernelLetsRaiseQbytes() == BackendLetsRaiseQbytes() ? UINT_MAX : kMsgmnb;
}

class MsgDifferentialTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(MsgDifferentialTest, GeneratedSequenceMatchesTheKernel) {
  const uint32_t seed = GetParam();
  constexpr int kSteps = 250;
  const bool literal_ids = testing::CanUseFreshKernelNamespace();
  const std::vector<std::string> kernel = testing::TraceInChild(
      "kernel", [&] { return !literal_ids || testing::EnterFreshKernelNamespace(); },
      [&](TraceWriter& out) { MsgRunner(testing::KernelMsg(), seed, literal_ids, out, QbytesLimit()).Run(kSteps); });
  testing::TestDaemon daemon(testing::FreshNamespaceDir("msgdiff"));
  daemon.Start();
  const std::vector<std::string> libsysv = testing::TraceInChild(
      "libsysv", [] { return true; },
      [&](TraceWriter& out) { MsgRunner(testing::LibsysvMsg(), seed, literal_ids, out, QbytesLimit()).Run(kSteps); });
  testing::ExpectSameTraces(kernel, libsysv, absl::StrCat("msg-seed", seed));
}

// IPC_SET of msg_qbytes = MSGMNB + 1 on a new queue: the kernel's answer
// and libsysv's, each what its promise says (success with the permission,
// EPERM without). On Linux both are CAP_SYS_RESOURCE, so they agree; on the
// DragonFly backend root may (DragonFly has no capabilities), and where
// root lacks CAP_SYS_RESOURCE here the two differ, which is by design.
std::string RaiseQbytes(const MsgApi& api) {
  const int id = api.msgget(IPC_PRIVATE, 0600);
  if (id < 0) return absl::StrCat("msgget errno ", errno);
  msqid_ds ds{};
  std::string result;
  if (api.msgctl(id, IPC_STAT, &ds) != 0) {
    result = absl::StrCat("IPC_STAT errno ", errno);
  } else {
    ds.msg_qbytes = kMsgmnb + 1;
    errno = 0;
    const int set = api.msgctl(id, IPC_SET, &ds);
    result = set == 0 ? "raised" : absl::StrCat("errno ", errno);
    if (set == 0 && api.msgctl(id, IPC_STAT, &ds) == 0 && ds.msg_qbytes != kMsgmnb + 1) {
      result = absl::StrCat("raised but IPC_STAT says ", ds.msg_qbytes);
    }
  }
  api.msgctl(id, IPC_RMID, nullptr);
  return result;
}

TEST(MsgQbytesTest, RootRaisingQbytesIsWhatTheBackendPromises) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root: the promises differ only for root";
  const std::vector<std::string> kernel = testing::TraceInChild(
      "kernel", [] { return !testing::CanUseFreshKernelNamespace() || testing::EnterFreshKernelNamespace(); },
      [](TraceWriter& out) { out.Line(0, RaiseQbytes(testing::KernelMsg())); });
  testing::TestDaemon daemon(testing::FreshNamespaceDir("msgqbytes"));
  daemon.Start();
  const std::vector<std::string> libsysv = testing::TraceInChild(
      "libsysv", [] { return true; }, [](TraceWriter& out) { out.Line(0, RaiseQbytes(testing::LibsysvMsg())); });
  const std::string eperm = absl::StrCat("errno ", EPERM);
  EXPECT_EQ(kernel, std::vector<std::string>{absl::StrCat("0: ", KernelLetsRaiseQbytes() ? "raised" : eperm)});
  EXPECT_EQ(libsysv, std::vector<std::string>{absl::StrCat("0: ", BackendLetsRaiseQbytes() ? "raised" : eperm)});
}

INSTANTIATE_TEST_SUITE_P(Seeds, MsgDifferentialTest, ::testing::Range(1u, 1u + testing::SeedCount(20)));

}  // namespace
}  // namespace sysv
