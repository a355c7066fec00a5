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
// blocks.
#ifndef SYSV_DAEMON_SERVER_H_
#define SYSV_DAEMON_SERVER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "backends/common/event_loop.h"
#include "backends/common/unique_fd.h"
#include "backends/linux/exit_watch.h"
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

  void OnAcceptable();
  void OnReadable(int fd);
  // Retires every client process that has exited. Runs before each request
  // (see backends/linux/exit_watch.h) and when the exit watch is readable.
  void ReapExitedClients();
  void CloseConnection(int fd);
  // After work that touched client-resizable mappings: if the fault guard
  // absorbed a fault meanwhile (backends/common/guarded_mapping.h), repairs
  // the objects concerned now rather than at their next use, since a lock
  // the daemon held in a region when the fault came stays held in the file
  // until then.
  void RepairAfterFaults();
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
  uint64_t faults_seen_ = 0;  // backend::GuardedMapping::Faults() at the last repair
};

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_SERVER_H_
