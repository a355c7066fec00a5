// Parked mappings under attack (issue #14, shm/attach): libsysv's shmdt may
// leave a segment's mapping in place, inaccessible (compat/parked_mappings.h),
// for the next shmat to reuse. The attacker, user B, is a permitted user of
// user A's segment who detached it; A then revokes B's access with
// IPC_SET. In the kernel B's next shmat is refused and nothing of the
// segment is left in B's address space; under libsysv the reuse path must
// be refused the same way (the permission check comes before the parked
// lookup), the old range must fault, and a parked mapping made from a
// read-only grant must never be handed out writable.
//
// The same script runs against the kernel (in a private IPC namespace) and
// against libsysv, as the same real users, and B's view must be the same
// line by line.
//
// Not covered, by design: B's process holds the segment's descriptor
// (libsysv's grant cache), so a B that calls mprotect() or mmap() on its own
// keeps the access it had; parking adds nothing to that (see README).
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "tests/reliability/as_user.h"
#include "tests/testing/access_probe.h"
#include "tests/testing/differential.h"
#include "tests/testing/shm_api.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

using testing::RunAs;
using testing::ProbeAccess;
using testing::ShmApi;
using testing::User;

// Ids 5100-5149 are this suite's parked-mapping tests'.
const testing::Identity kOwnerA = User("owner-a", 5100, 5100);
const testing::Identity kReaderB = User("reader-b", 5101, 5101);

constexpr size_t kSize = 65536;
void* const kFailed = reinterpret_cast<void*>(-1);


// B's side of the script: steps separated by the owner's mode changes.
// Each step's lines go to `out`; B then waits for one byte on `go`.
class Reader {
 public:
  Reader(const ShmApi& api, int out, int go) : api_(api), out_(out), go_(go) {}

  std::string Attach(int id, int flags, char** at) {
    char* p = static_cast<char*>(api_.shmat(id, nullptr, flags));
    if (p == kFailed) return absl::StrCat("shmat(", flags, ") errno ", strerror(errno));
    *at = p;
    return absl::StrCat("shmat(", flags, ") ok");
  }
  void Say(const std::string& line) { (void)!write(out_, (line + "\n").data(), line.size() + 1); }
  void Wait() {
    Say("--");
    char byte;
    (void)!read(go_, &byte, 1);
  }
  int Run(int readable, int writable) {
    // Segment `readable` (0644): read, detach; A then makes it 0600.
    char* r = nullptr;
    Say(Attach(readable, SHM_RDONLY, &r));
    if (r == nullptr) return 1;
    Say("r: " + ProbeAccess(r));
    Say(absl::StrCat("shmdt ", api_.shmdt(r)));
    // Segment `writable` (0666): write, detach; A then makes it 0644.
    char* w = nullptr;
    Say(Attach(writable, 0, &w));
    if (w == nullptr) return 1;
    Say("w: write " + ProbeAccess(w, 5));
    Say(absl::StrCat("shmdt ", api_.shmdt(w)));
    Wait();
    char* again = nullptr;
    Say("readable revoked: " + Attach(readable, SHM_RDONLY, &again));
    Say("readable revoked, rw: " + Attach(readable, 0, &again));
    Say("old r: " + ProbeAccess(r));
    Say("writable made 0644, rw: " + Attach(writable, 0, &again));
    char* w2 = nullptr;
    Say("writable made 0644, rdonly: " + Attach(writable, SHM_RDONLY, &w2));
    if (w2 != nullptr) {
      Say("w2: " + ProbeAccess(w2) + ", write " + ProbeAccess(w2, 6) + ", old w: " + ProbeAccess(w));
      Say(absl::StrCat("shmdt ", api_.shmdt(w2)));
    }
    Wait();
    // A gives `readable` back as 0666: the read-only grant's parked
    // mapping must not come back writable; a new one must be.
    char* r2 = nullptr;
    Say("readable made 0666, rdonly: " + Attach(readable, SHM_RDONLY, &r2));
    if (r2 != nullptr) {
      Say("r2: " + ProbeAccess(r2) + ", write " + ProbeAccess(r2, 7));
      Say(absl::StrCat("shmdt ", api_.shmdt(r2)));
    }
    char* r3 = nullptr;
    Say("readable made 0666, rw: " + Attach(readable, 0, &r3));
    if (r3 != nullptr) {
      Say("r3: write " + ProbeAccess(r3 + 1, 8) + ", " + ProbeAccess(r3 + 1));
      Say(absl::StrCat("shmdt ", api_.shmdt(r3)));
    }
    return 0;
  }

 private:
  const ShmApi& api_;
  int out_;
  int go_;
};

// A's segment of `mode`, with byte 0 set to `secret` by A.
int OwnersSegment(const ShmApi& api, int mode, char secret) {
  return testing::RunAsForValue(kOwnerA, [&] {
    const int id = api.shmget(IPC_PRIVATE, kSize, IPC_CREAT | mode);
    if (id < 0) return -1;
    char* p = static_cast<char*>(api.shmat(id, nullptr, 0));
    if (p == kFailed) return -1;
    p[0] = secret;
    api.shmdt(p);
    return id;
  });
}

// A sets the mode of `id`.
bool SetMode(const ShmApi& api, int id, int mode) {
  return RunAs(kOwnerA, [&] {
           shmid_ds ds{};
           if (api.shmctl(id, IPC_STAT, &ds) != 0) return 1;
           ds.shm_perm.mode = static_cast<unsigned short>(mode);
           return api.shmctl(id, IPC_SET, &ds) == 0 ? 0 : 1;
         }) == 0;
}

std::string ReadUntilMarker(int fd) {
  std::string text;
  char c;
  while (read(fd, &c, 1) == 1) {
    text.push_back(c);
    if (text.size() >= 3 && text.compare(text.size() - 3, 3, "--\n") == 0) break;
  }
  return text;
}

// The whole script against `api`: B's lines, then A's and the outcome.
void Script(const ShmApi& api, testing::TraceWriter& trace) {
  int step = 0;
  const int readable = OwnersSegment(api, 0644, 42);
  const int writable = OwnersSegment(api, 0666, 43);
  trace.Line(step++, absl::StrCat("segments ", readable >= 0, " ", writable >= 0));
  if (readable < 0 || writable < 0) return;
  int to_b[2];
  int from_b[2];
  if (pipe(to_b) != 0 || pipe(from_b) != 0) return;
  const pid_t b = fork();
  if (b == 0) {
    close(to_b[1]);
    close(from_b[0]);
    _exit(RunAs(kReaderB, [&] { return Reader(api, from_b[1], to_b[0]).Run(readable, writable); }));
  }
  close(to_b[0]);
  close(from_b[1]);
  if (b < 0) return;
  trace.Line(step++, ReadUntilMarker(from_b[0]));
  trace.Line(step++, absl::StrCat("A revokes: ", SetMode(api, readable, 0600), " ", SetMode(api, writable, 0644)));
  (void)!write(to_b[1], "", 1);
  trace.Line(step++, ReadUntilMarker(from_b[0]));
  trace.Line(step++, absl::StrCat("A opens: ", SetMode(api, readable, 0666)));
  (void)!write(to_b[1], "", 1);
  trace.Line(step++, ReadUntilMarker(from_b[0]));
  close(to_b[1]);
  int status = 0;
  waitpid(b, &status, 0);
  trace.Line(step++, absl::StrCat("B exit ", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)));
  // A sees B's writes only where B could write.
  RunAs(kOwnerA, [&] {
    char* p = static_cast<char*>(api.shmat(writable, nullptr, SHM_RDONLY));
    char* q = static_cast<char*>(api.shmat(readable, nullptr, SHM_RDONLY));
    if (p != kFailed && q != kFailed) {
      trace.Line(step, absl::StrCat("A reads writable ", static_cast<int>(p[0]), " readable ", static_cast<int>(q[0]),
                                    " ", static_cast<int>(q[1])));
    }
    return 0;
  });
  api.shmctl(readable, IPC_RMID, nullptr);
  api.shmctl(writable, IPC_RMID, nullptr);
}

class ParkedMappingAttackTest : public testing::SharedNamespaceTest {
 protected:
  ParkedMappingAttackTest() : SharedNamespaceTest("parked") {}
};

TEST_F(ParkedMappingAttackTest, RevokedReaderGetsNothingBackThroughAParkedRange) {
  if (!testing::CannotSwitchUsersReason().empty()) GTEST_SKIP() << testing::CannotSwitchUsersReason();
  const std::vector<std::string> kernel = testing::TraceInChild(
      "kernel", [] { return !testing::CanUseFreshKernelNamespace() || testing::EnterFreshKernelNamespace(); },
      [](testing::TraceWriter& out) { Script(testing::KernelShm(), out); });
  const std::vector<std::string> libsysv = testing::TraceInChild(
      "libsysv", [] { return true; }, [](testing::TraceWriter& out) { Script(testing::LibsysvShm(), out); });
  ASSERT_GE(kernel.size(), 7u);
  // The kernel's own answers, so that a change in the script cannot hide
  // an attack that succeeds on both sides.
  const std::string all = absl::StrJoin(kernel, "\n");
  EXPECT_NE(all.find("readable revoked: shmat(4096) errno Permission denied"), std::string::npos) << all;
  EXPECT_NE(all.find("old r: fault"), std::string::npos) << all;
  EXPECT_NE(all.find("r2: read 42, write fault"), std::string::npos) << all;
  testing::ExpectSameTraces(kernel, libsysv, "parked-revoke");
}

}  // namespace
}  // namespace sysv
