// The UAPI socket: /var/run/wireguard/IFNAME.sock (wireguard-go ipc/uapi_unix.go), serving the
// text protocol of protocol.h against a Device.
//
// Listen() creates the directory (0755) and binds the socket under umask 077 (srwx------). A
// socket file nobody accepts on (left by a crashed daemon) is replaced; a live one is an error.
// Each connection is served on its own thread and may carry several operations; Stop() shuts
// them down, joins every thread and unlinks the socket file.
#pragma once

#include <atomic>
#include <list>
#include <mutex>
#include <string>
#include <thread>

#include "tundra/base/result.h"
#include "tundra/base/unique_fd.h"
#include "tundra/device/device.h"

namespace tundra::uapi {

inline constexpr char kDefaultSocketDir[] = "/var/run/wireguard";

// Path of the socket for `ifname` in `dir`.
std::string SocketPath(std::string_view ifname, std::string_view dir = kDefaultSocketDir);

// Binds and listens; `ifname` must be a valid interface name (no '/').
Result<UniqueFd> Listen(std::string_view ifname, std::string_view dir = kDefaultSocketDir);

class Server {
 public:
  // `device` must outlive the server. `path` is unlinked by Stop().
  Server(UniqueFd listener, std::string path, device::Device& device);
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
  void AcceptLoop();
  void ReapFinished();

  UniqueFd listener_;
  std::string path_;
  device::Device& device_;
  UniqueFd stop_fd_;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::mutex mu_;
  std::list<Connection> connections_;  // guarded by mu_
};

}  // namespace tundra::uapi
