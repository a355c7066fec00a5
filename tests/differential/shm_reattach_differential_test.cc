// Differential test: shmdt followed by shmat of the same segment, and what a
// program can do in between to the range it detached, against the kernel
// and against libsysv (which parks the detached mapping, inaccessible, for
// the next shmat to reuse: compat/parked_mappings.h). Every result, every
// access (fault or value), nattch and the times must agree. Where they
// cannot (si_code of the fault; msync or a MAP_FIXED_NOREPLACE on a parked
// range succeeds/fails differently), the script does not look.
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "backends/platform.h"
#include "gtest/gtest.h"
#include "tests/testing/access_probe.h"
#include "tests/testing/differential.h"
#include "tests/testing/shm_api.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

using testing::ProbeAccess;
using testing::ShmApi;

constexpr size_t kSize = 65536;
void* const kFailed = reinterpret_cast<void*>(-1);


// Whether anything is mapped at `p` (msync: ENOMEM for an unmapped range).
std::string Mapped(void* p) { return msync(p, 4096, MS_ASYNC) == 0 ? "mapped" : absl::StrCat("unmapped errno ", errno); }

class Script {
 public:
  Script(const ShmApi& api, testing::TraceWriter& out) : api_(api), out_(out) {}

  void Run() {
    id_ = api_.shmget(IPC_PRIVATE, kSize, IPC_CREAT | 0600);
    Line(absl::StrCat("shmget ", id_ >= 0 ? "ok" : "failed"));
    if (id_ < 0) return;

    // Detach, then reattach: the data stays, the old address faults.
    char* a = At(0);
    Line("write a: " + ProbeAccess(a, 7));
    Detach(a);
    Line("a after shmdt: read " + ProbeAccess(a) + ", write " + ProbeAccess(a, 1));
    char* b = At(0);
    Line("b: " + ProbeAccess(b) + Stat());
    Line("write b+1: " + ProbeAccess(b + 1, 9));
    Detach(b);

    // Read-only, then read-write, then exec: each gets its own protection.
    char* c = At(SHM_RDONLY);
    Line("c (rdonly): " + ProbeAccess(c + 1) + ", write " + ProbeAccess(c, 3));
    Detach(c);
    char* d = At(0);
    Line("d (rw after rdonly): write " + ProbeAccess(d + 2, 5) + ", " + ProbeAccess(d + 2));
    Detach(d);
    char* x = At(SHM_EXEC | SHM_RDONLY);
    Line("x (exec rdonly): " + ProbeAccess(x) + ", write " + ProbeAccess(x, 3));
    Detach(x);

    // The program maps over the range it detached: its mapping is its own.
    char* e = At(0);
    Detach(e);
    void* over = mmap(e, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    Line(absl::StrCat("mmap over e: ", over == e ? "ok" : "failed"));
    std::memset(e, 0x55, kSize);
    char* f = At(0);
    Line(absl::StrCat("f == e: ", f == e, "; f: ", ProbeAccess(f), "; e: ", ProbeAccess(e)));
    Detach(f);
    Line("e after shmdt f: " + ProbeAccess(e + 100) + ", write " + ProbeAccess(e, 0x56));
    munmap(e, kSize);

    // ... or over part of it.
    char* g = At(0);
    Detach(g);
    void* part = mmap(g + 4096, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    Line(absl::StrCat("mmap over part of g: ", part == g + 4096 ? "ok" : "failed"));
    g[4096] = 0x66;
    char* h = At(0);
    Line(absl::StrCat("h == g: ", h == g, "; h: ", ProbeAccess(h), "; g+4096: ", ProbeAccess(g + 4096)));
    Detach(h);
    Line("g+4096 after shmdt h: " + ProbeAccess(g + 4096));
    munmap(g + 4096, 4096);

    // ... or unmaps it.
    char* i = At(0);
    Detach(i);
    Line(absl::StrCat("munmap i: ", munmap(i, kSize)));
    char* j = At(0);
    Line("j: " + ProbeAccess(j));
    Detach(j);

    // An explicit address over the detached range: free, as in the kernel.
    char* k = At(0);
    Detach(k);
    char* k2 = static_cast<char*>(api_.shmat(id_, k, 0));
    Line(absl::StrCat("shmat at k: ", k2 == k ? "at k" : k2 == kFailed ? "failed" : "elsewhere", " errno ",
                      k2 == kFailed ? errno : 0));
    if (k2 != kFailed) {
      Line("k2: " + ProbeAccess(k2) + Stat());
      Detach(k2);
    }
    char* l = At(0);
    Detach(l);
    char* l2 = static_cast<char*>(api_.shmat(id_, l, SHM_REMAP));
    Line(absl::StrCat("shmat at l, SHM_REMAP: ", l2 == l ? "at l" : l2 == kFailed ? "failed" : "elsewhere"));
    if (l2 != kFailed) Detach(l2);

    // A forked child attaches, writes and detaches; the parent sees it.
    char* m = At(0);
    Detach(m);
    const pid_t child = fork();
    if (child == 0) {
      char* cm = static_cast<char*>(api_.shmat(id_, nullptr, 0));
      if (cm == kFailed) _exit(2);
      shmid_ds ds{};
      const bool one = api_.shmctl(id_, IPC_STAT, &ds) == 0 && ds.shm_nattch == 1;
      cm[3] = 11;
      _exit(api_.shmdt(cm) == 0 && one ? 0 : 3);
    }
    int status = 0;
    if (child > 0) waitpid(child, &status, 0);
    Line(absl::StrCat("child: ", child > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1, Stat()));
    char* n = At(0);
    Line("n+3: " + ProbeAccess(n + 3));
    Detach(n);

    // Removed while attached: the last shmdt destroys it, nothing stays.
    char* o = At(0);
    Line(absl::StrCat("IPC_RMID while attached: ", api_.shmctl(id_, IPC_RMID, nullptr), Stat()));
    Detach(o);
    Line("o after the last shmdt: " + Mapped(o) + Stat());

    // Removed after the last shmdt: nothing stays mapped either.
    id_ = api_.shmget(IPC_PRIVATE, kSize, IPC_CREAT | 0600);
    char* p = At(0);
    Detach(p);
    Line(absl::StrCat("IPC_RMID after shmdt: ", api_.shmctl(id_, IPC_RMID, nullptr)));
    Line("p after IPC_RMID: " + Mapped(p) + Stat());
  }

 private:
  char* At(int flags) {
    char* p = static_cast<char*>(api_.shmat(id_, nullptr, flags));
    Line(absl::StrFormat("shmat(%#o) %s", flags, p == kFailed ? absl::StrCat("errno ", errno) : "ok"));
    return p == kFailed ? nullptr : p;
  }
  void Detach(char* p) { Line(absl::StrCat("shmdt ", api_.shmdt(p))); }
  std::string Stat() {
    shmid_ds ds{};
    if (api_.shmctl(id_, IPC_STAT, &ds) != 0) return absl::StrCat(" [stat errno ", errno, "]");
    return absl::StrCat(" [nattch ", ds.shm_nattch, " atime ", ds.shm_atime != 0, " dtime ", ds.shm_dtime != 0,
                        " lpid ", testing::RelativePid(ds.shm_lpid, self_), "]");
  }
  void Line(const std::string& text) { out_.Line(step_++, text); }

  const ShmApi& api_;
  testing::TraceWriter& out_;
  const pid_t self_ = getpid();
  int id_ = -1;
  int step_ = 0;
};

TEST(ShmReattachDifferentialTest, DetachAndReattachMatchTheKernel) {
  const std::vector<std::string> kernel = testing::TraceInChild(
      "kernel", [] { return !testing::CanUseFreshKernelNamespace() || testing::EnterFreshKernelNamespace(); },
      [](testing::TraceWriter& out) { Script(testing::KernelShm(), out).Run(); });
  testing::TestDaemon daemon(testing::FreshNamespaceDir("reattach"));
  daemon.Start();
  const std::vector<std::string> libsysv = testing::TraceInChild(
      "libsysv", [] { return true; }, [](testing::TraceWriter& out) { Script(testing::LibsysvShm(), out).Run(); });
  testing::ExpectSameTraces(kernel, libsysv, "shm-reattach");
}

// libsysv alone: what a process keeps parked is bounded (at most 8
// mappings, least recently detached out first), and none is kept of a
// segment the process removed. The kernel keeps nothing.
TEST(ShmReattachDifferentialTest, ParkedMappingsAreBounded) {
  testing::TestDaemon daemon(testing::FreshNamespaceDir("reattach-bound"));
  daemon.Start();
  const std::vector<std::string> trace = testing::TraceInChild(
      "libsysv", [] { return true; },
      [](testing::TraceWriter& out) {
        const ShmApi& api = testing::LibsysvShm();
        std::vector<int> ids;
        std::vector<char*> at;
        for (int s = 0; s < 10; ++s) {
          ids.push_back(api.shmget(IPC_PRIVATE, kSize, IPC_CREAT | 0600));
          at.push_back(static_cast<char*>(api.shmat(ids.back(), nullptr, 0)));
        }
        for (char* p : at) api.shmdt(p);
        int step = 0;
        for (size_t s = 0; s < at.size(); ++s) out.Line(step++, absl::StrCat("segment ", s, ": ", Mapped(at[s])));
        for (int id : ids) api.shmctl(id, IPC_RMID, nullptr);
        for (size_t s = 0; s < at.size(); ++s) {
          out.Line(step++, absl::StrCat("removed segment ", s, ": ", Mapped(at[s])));
        }
      });
  ASSERT_EQ(trace.size(), 20u);
  // Parked ranges are mapped (PROT_NONE); where parking is unavailable
  // (before Linux 6.11) all ten are unmapped, which is also within bounds.
  EXPECT_LE(testing::CountLines(trace, ": mapped"), 8);
  if (platform::MappingQuery().Available()) {
    // Parking works here: the last eight detached are parked.
    for (size_t s = 2; s < 10; ++s) EXPECT_NE(trace[s].find(": mapped"), std::string::npos) << trace[s];
  }
  EXPECT_NE(trace[0].find("unmapped"), std::string::npos) << trace[0];
  EXPECT_NE(trace[1].find("unmapped"), std::string::npos) << trace[1];
  for (size_t s = 10; s < 20; ++s) EXPECT_NE(trace[s].find("unmapped"), std::string::npos) << trace[s];
}

}  // namespace
}  // namespace sysv
