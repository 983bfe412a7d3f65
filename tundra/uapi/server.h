// The UAPI socket: /var/run/wireguard/IFNAME.sock (wireguard-go ipc/uapi_unix.go), serving the
// text protocol of protocol.h against a Device.
//
// Listen() creates the directory (0755) and binds the socket under umask 077 (srwx------). A
// socket file nobody accepts on (left by a crashed daemon) is replaced; a live one is an error.
// Each connection is served on its own thread and may carry several operations. At most
// max_connections are served at once (more wait in the listen backlog); one that makes no
// progress for idle_timeout is closed; Stop() wakes them all, joins every thread and unlinks
// the socket file.
#pragma once

#include <atomic>
#include <chrono>
#include <list>
#include <mutex>
#include <string>
#include <thread>

#include "tundra/base/result.h"
#include "tundra/base/unique_fd.h"
#include "tundra/device/device.h"
#include "tundra/uapi/protocol.h"

namespace tundra::uapi {

inline constexpr char kDefaultSocketDir[] = "/var/run/wireguard";
// `wg` opens one connection per command and writes its request at once.
inline constexpr size_t kMaxConnections = 8;
inline constexpr std::chrono::milliseconds kIdleTimeout{10'000};

struct ServerOptions {
  size_t max_connections = kMaxConnections;
  std::chrono::milliseconds idle_timeout = kIdleTimeout;  // per read or write wait
  size_t max_set_request_bytes = kMaxSetRequestBytes;
};

// Path of the socket for `ifname` in `dir`.
std::string SocketPath(std::string_view ifname, std::string_view dir = kDefaultSocketDir);

// Binds and listens; `ifname` must be a valid interface name (no '/').
Result<UniqueFd> Listen(std::string_view ifname, std::string_view dir = kDefaultSocketDir);

class Server {
 public:
  // `device` must outlive the server. `path` is unlinked by Stop().
  Server(UniqueFd listener, std::string path, device::Device& device, ServerOptions options = {});
  ~Server();

  Status Start();
  void Stop();
  const std::string& path() const { return path_; }
  // Stop() will not unlink the socket path (it was removed, or now belongs to someone else).
  void DisownPath() { path_.clear(); }

  // Serves one connection to completion (exposed for tests over a socketpair).
  void ServeConnection(int fd);

 private:
  struct Connection {
    UniqueFd fd;
    std::thread thread;
    std::atomic<bool> done{false};
  };
  class Stream;  // one connection's buffered, bounded I/O (server.cc)
  void AcceptLoop();
  size_t ReapFinished();          // returns the connections still open
  bool ServeSet(Stream& stream);  // false: close the connection

  UniqueFd listener_;
  std::string path_;
  device::Device& device_;
  ServerOptions options_;
  UniqueFd stop_fd_;  // written once by Stop(), never read: every poll on it wakes
  UniqueFd done_fd_;  // a connection thread finished: the accept loop may reap it
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::mutex mu_;
  std::list<Connection> connections_;  // guarded by mu_
};

}  // namespace tundra::uapi
