// sysvipcd's server: the well-known endpoint, the per-client channels, and
// the dispatch of decoded requests to the per-kind services.
//
// Every client connects to <dir>/sysvipcd.sock; the accepted socket is that
// client's private channel. Its credentials come from the kernel
// (SO_PEERCRED, SO_PEERGROUPS) when it connects; a client whose credentials
// change opens a new channel, so every request is judged with the caller's
// credentials at the moment of the call. The first message on a channel must
// be kRegister.
//
// Threading: one thread runs the event loop and every handler; nothing here
// blocks, and nothing waits for a region lock, which a client can hold, stop
// in, or forge (DESIGN.md "Trust model", rule 5): a request that finds one
// busy is parked and asked again by the retry timer, and exit work that
// finds one busy is retried by the same timer, between requests.
#ifndef SYSV_DAEMON_SERVER_H_
#define SYSV_DAEMON_SERVER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "backends/common/event_loop.h"
#include "backends/common/unique_fd.h"
#include "backends/linux/exit_watch.h"
#include "backends/linux/retry_timer.h"
#include "core/ipc/credentials.h"
#include "core/ipc/limits.h"
#include "core/protocol/codec.h"
#include "daemon/client_registry.h"
#include "daemon/namespace_state.h"
#include "daemon/reply.h"
#include "daemon/msg_service.h"
#include "daemon/sem_service.h"
#include "daemon/shm_service.h"

namespace sysv::daemon {

struct ServerOptions {
  std::string dir;
  core::NamespaceLimits limits;
  // Connections beyond this are refused at accept.
  int max_connections = 65536;
};

class Server {
 public:
  Server(ServerOptions options, std::unique_ptr<NamespaceState> state,
         backend::EventLoop& loop, linux_backend::ExitWatch exits);
  ~Server();

  // Recovers client records, starts listening. After this, Run the loop.
  absl::Status Start();
  // Stops accepting and removes the socket file (clean shutdown).
  void Shutdown();

 private:
  struct Connection {
    backend::UniqueFd fd;
    core::Credentials creds;
    bool registered = false;
  };

  // A request whose object's lock was busy (Reply::busy), asked again by
  // the retry timer. Its connection is not read meanwhile, so that the
  // client's requests are answered in order.
  struct Parked {
    int fd;
    core::wire::DecodedRequest request;
  };

  void OnAcceptable();
  void OnReadable(int fd);
  // Sends `reply` on `fd`, or closes the connection if it cannot; a busy
  // reply parks `request` instead.
  void Answer(int fd, const core::wire::DecodedRequest& request, Reply reply);
  // The retry timer: parked requests, then exit work postponed on busy
  // locks; re-armed with backoff while any is left (ScheduleRetry).
  void OnRetryTimer();
  void ScheduleRetry();
  // Retires every client process that has exited. Runs before each request
  // (see backends/linux/exit_watch.h) and when the exit watch is readable.
  void ReapExitedClients();
  void CloseConnection(int fd);
  Reply Dispatch(Connection& connection, const core::wire::DecodedRequest& request);
  Reply HandleRegister(Connection& connection, uint32_t request_id,
                       const core::wire::RegisterRequest& request);
  void AbsorbLedger(const core::AttachLedger& ledger, int32_t pid);
  // Everything the kernel does when a process exits: detach its segments,
  // apply its semaphore undo, drop its queued operations.
  void OnClientExit(const ClientProcess& process);

  ServerOptions options_;
  std::unique_ptr<NamespaceState> state_;
  backend::EventLoop& loop_;
  linux_backend::ExitWatch exits_;
  backend::UniqueFd listen_fd_;
  std::string socket_path_;
  ClientRegistry clients_;
  ShmService shm_;
  SemService sem_;
  MsgService msg_;
  absl::flat_hash_map<int, std::unique_ptr<Connection>> connections_;
  std::optional<linux_backend::RetryTimer> retry_timer_;
  // The delay of the next retry: short after progress, doubled up to
  // kMaxRetryDelay while nothing moves (server.cc).
  absl::Duration retry_delay_;
  std::vector<Parked> parked_;
};

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_SERVER_H_
