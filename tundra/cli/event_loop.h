// EventLoop: the daemon's main thread waits on named event sources (signals, the TUN's
// failure, the UAPI socket file, link events), each with its handler, until a handler stops it.
#pragma once

#include <fmt/core.h>
#include <poll.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "tundra/base/log.h"

namespace tundra::cli {

// Named event sources polled together until one of their handlers stops the loop.
class EventLoop {
 public:
  void Add(std::string name, int fd, std::function<void()> on_readable) {
    sources_.push_back({std::move(name), fd, std::move(on_readable)});
  }
  // Ends Run() after the current handler (the first reason given wins).
  void Stop(std::string reason) {
    if (reason_.empty()) reason_ = std::move(reason);
  }
  // Returns the reason it stopped.
  std::string Run() {
    std::vector<pollfd> fds;
    for (const Source& s : sources_) fds.push_back({s.fd, POLLIN, 0});
    while (reason_.empty()) {
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        return fmt::format("poll: {}", std::strerror(errno));
      }
      for (size_t i = 0; i < fds.size() && reason_.empty(); ++i) {
        if (fds[i].revents == 0) continue;
        if ((fds[i].revents & POLLNVAL) != 0) Stop(sources_[i].name + ": not an open descriptor");
        TUNDRA_LOG(kDebug, "event: {}", sources_[i].name);
        sources_[i].on_readable();
      }
    }
    return reason_;
  }

 private:
  struct Source {
    std::string name;
    int fd;
    std::function<void()> on_readable;
  };
  std::vector<Source> sources_;
  std::string reason_;
};

}  // namespace tundra::cli
