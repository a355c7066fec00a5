// The driver's shared ioctl switch, run in user space: the same C file both
// modules compile (Linux: backends/linux/driver/Kbuild; DragonFly:
// backends/dragonfly/driver/Makefile).
#include "backends/common/driver/ioctl_dispatch.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace {

// Records which handler ran, and answers with `result`.
struct Recorder {
  std::string called;
  long result = 0;
};

long Record(void* ctx, const char* name) {
  auto* r = static_cast<Recorder*>(ctx);
  r->called += name;
  return r->result;
}

}  // namespace

// The handlers a module defines (ioctl_dispatch.h), here recorders.
extern "C" {
long sysvipc_ioc_create(void* c, sysvipc_create*) {
  return Record(c, "create");
}
long sysvipc_ioc_open(void* c, sysvipc_open*) { return Record(c, "open"); }
long sysvipc_ioc_stat(void* c, sysvipc_stat*) { return Record(c, "stat"); }
long sysvipc_ioc_remove(void* c, sysvipc_remove*) {
  return Record(c, "remove");
}
long sysvipc_ioc_list(void* c, sysvipc_list*) { return Record(c, "list"); }
long sysvipc_ioc_lock(void* c, sysvipc_lock*) { return Record(c, "lock"); }
}

namespace {

TEST(IoctlDispatchTest, VersionAnswersWithoutAHandler) {
  Recorder r;
  sysvipc_request req{};
  EXPECT_EQ(sysvipc_dispatch(SYSVIPC_IOC_VERSION, &req, &r), 0);
  EXPECT_EQ(req.version.version, SYSVIPC_ABI_VERSION);
  EXPECT_EQ(r.called, "");
}

TEST(IoctlDispatchTest, EachCommandRunsItsHandlerOnAWellFormedRequest) {
  struct Case {
    unsigned long cmd;
    const char* handler;
    void (*fill)(sysvipc_request*);
  };
  const Case cases[] = {
      {SYSVIPC_IOC_CREATE, "create",
       [](sysvipc_request* q) { q->create.size = 4096; }},
      {SYSVIPC_IOC_OPEN, "open", [](sysvipc_request* q) { q->open.id = 1; }},
      {SYSVIPC_IOC_STAT, "stat", [](sysvipc_request* q) { q->stat.id = 1; }},
      {SYSVIPC_IOC_REMOVE, "remove",
       [](sysvipc_request* q) { q->remove.id = 1; }},
      {SYSVIPC_IOC_LIST, "list", [](sysvipc_request*) {}},
      {SYSVIPC_IOC_LOCK, "lock", [](sysvipc_request* q) { q->lock.id = 1; }},
  };
  for (const Case& c : cases) {
    Recorder r;
    r.result = -ENOENT;  // the handler's answer is the ioctl's
    sysvipc_request req{};
    c.fill(&req);
    EXPECT_EQ(sysvipc_dispatch(c.cmd, &req, &r), -ENOENT) << c.handler;
    EXPECT_EQ(r.called, c.handler);
  }
}

TEST(IoctlDispatchTest, AMalformedRequestNeverReachesItsHandler) {
  const unsigned long cmds[] = {SYSVIPC_IOC_VERSION, SYSVIPC_IOC_CREATE,
                                SYSVIPC_IOC_OPEN,    SYSVIPC_IOC_STAT,
                                SYSVIPC_IOC_REMOVE,  SYSVIPC_IOC_LIST,
                                SYSVIPC_IOC_LOCK};
  for (unsigned long cmd : cmds) {
    Recorder r;
    // All ones: a set reserved field (or remove's out field, or LIST's
    // count beyond SYSVIPC_LIST_MAX) in every request.
    sysvipc_request req;
    memset(&req, 0xff, sizeof(req));
    EXPECT_EQ(sysvipc_dispatch(cmd, &req, &r), -EINVAL) << cmd;
    EXPECT_EQ(r.called, "") << cmd;
  }
}

TEST(IoctlDispatchTest, UnknownCommandIsNotty) {
  Recorder r;
  sysvipc_request req{};
  EXPECT_EQ(sysvipc_dispatch(_IOWR(SYSVIPC_IOC_MAGIC, 7, struct sysvipc_lock),
                             &req, &r),
            -ENOTTY);
  // Same number, other size: a different command.
  EXPECT_EQ(sysvipc_dispatch(_IOWR(SYSVIPC_IOC_MAGIC, 0, struct sysvipc_lock),
                             &req, &r),
            -ENOTTY);
  EXPECT_EQ(r.called, "");
}

TEST(IoctlDispatchTest, ListFirstStaysInTheIdRange) {
  EXPECT_EQ(sysvipc_list_first(0), 1u);
  EXPECT_EQ(sysvipc_list_first(41), 42u);
  EXPECT_EQ(sysvipc_list_first(SYSVIPC_MAX_ID - 1), SYSVIPC_MAX_ID);
  EXPECT_EQ(sysvipc_list_first(SYSVIPC_MAX_ID), 0u);
  EXPECT_EQ(sysvipc_list_first(UINT32_MAX), 0u);
}

}  // namespace
