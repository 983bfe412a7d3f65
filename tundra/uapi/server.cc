#include "tundra/uapi/server.h"

#include <fmt/core.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "tundra/base/check.h"
#include "tundra/base/log.h"
#include "tundra/base/syscall.h"
#include "tundra/uapi/protocol.h"

namespace tundra::uapi {
namespace {

constexpr size_t kMaxLine = 4096;

// Buffered line reader over a blocking socket.
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  // One line without its '\n'. False on EOF (a final unterminated line is returned first) or
  // error; `error` tells which.
  bool ReadLine(std::string& line, bool& error) {
    line.clear();
    error = false;
    for (;;) {
      if (pos_ == len_) {
        ssize_t n = RetryOnEintr(::read, fd_, buf_, sizeof(buf_));
        if (n <= 0) {
          error = n < 0;
          return !line.empty() && !error;
        }
        pos_ = 0;
        len_ = size_t(n);
      }
      const char* start = buf_ + pos_;
      const char* nl = static_cast<const char*>(std::memchr(start, '\n', len_ - pos_));
      const size_t take = nl != nullptr ? size_t(nl - start) : len_ - pos_;
      line.append(start, take);
      pos_ += take;
      if (line.size() > kMaxLine) {
        error = true;
        return false;
      }
      if (nl != nullptr) {
        ++pos_;
        return true;
      }
    }
  }

  // One byte (the blank line after get=1 must be exactly "\n"). False on EOF or error.
  bool ReadByte(char& c) {
    if (pos_ == len_) {
      ssize_t n = RetryOnEintr(::read, fd_, buf_, sizeof(buf_));
      if (n <= 0) return false;
      pos_ = 0;
      len_ = size_t(n);
    }
    c = buf_[pos_++];
    return true;
  }

 private:
  int fd_;
  char buf_[8192];
  size_t pos_ = 0;
  size_t len_ = 0;
};

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = RetryOnEintr(::send, fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(size_t(n));
  }
  return true;
}

bool IsLive(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  UniqueFd probe(fd);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  return ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
}

}  // namespace

std::string SocketPath(std::string_view ifname, std::string_view dir) {
  return fmt::format("{}/{}.sock", dir, ifname);
}

Result<UniqueFd> Listen(std::string_view ifname, std::string_view dir) {
  if (ifname.empty() || ifname.find('/') != std::string_view::npos) {
    return InvalidArgument(fmt::format("invalid interface name '{}' for the UAPI socket", ifname));
  }
  const std::string path = SocketPath(ifname, dir);
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    return InvalidArgument(fmt::format("UAPI socket path too long: {}", path));
  }
  if (::mkdir(std::string(dir).c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoError(fmt::format("mkdir({})", dir));
  }
  int raw = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (raw < 0) return ErrnoError("socket(AF_UNIX)");
  UniqueFd fd(raw);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);

  const mode_t old_mask = ::umask(077);
  int r = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  if (r != 0 && errno == EADDRINUSE) {
    // A socket file exists: in use by a live daemon, or stale.
    if (IsLive(path)) {
      ::umask(old_mask);
      return Error(EADDRINUSE, fmt::format("bind({})", path),
                   "UAPI socket in use by another process");
    }
    ::unlink(path.c_str());
    r = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  }
  const int bind_errno = errno;
  ::umask(old_mask);
  if (r != 0) return ErrnoError(fmt::format("bind({})", path), bind_errno);
  if (::listen(fd.get(), 16) != 0) {
    Error e = ErrnoError(fmt::format("listen({})", path));
    ::unlink(path.c_str());
    return e;
  }
  return fd;
}

Server::Server(UniqueFd listener, std::string path, device::Device& device)
    : listener_(std::move(listener)), path_(std::move(path)), device_(device) {
  int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  TUNDRA_CHECK(fd >= 0);
  stop_fd_.reset(fd);
}

Server::~Server() { Stop(); }

Status Server::Start() {
  accept_thread_ = std::thread([this] { AcceptLoop(); });
  return OkStatus();
}

void Server::Stop() {
  if (stopping_.exchange(true)) return;
  uint64_t one = 1;
  ssize_t w = ::write(stop_fd_.get(), &one, sizeof(one));
  (void)w;
  if (accept_thread_.joinable()) accept_thread_.join();
  {
    std::lock_guard lock(mu_);
    for (Connection& c : connections_) ::shutdown(c.fd.get(), SHUT_RDWR);
  }
  for (Connection& c : connections_) {
    if (c.thread.joinable()) c.thread.join();
  }
  connections_.clear();
  listener_.reset();
  if (!path_.empty()) ::unlink(path_.c_str());
}

void Server::AcceptLoop() {
  pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
  while (!stopping_.load()) {
    int n = ::poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      TUNDRA_LOG(kError, "UAPI poll: {}", std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0 || stopping_.load()) return;
    int c = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) {
        TUNDRA_LOG_RATELIMITED(kError, "UAPI accept: {}", std::strerror(errno));
      }
      continue;
    }
    ReapFinished();
    std::lock_guard lock(mu_);
    Connection& conn = connections_.emplace_back();
    conn.fd.reset(c);
    conn.thread = std::thread([this, &conn] {
      ServeConnection(conn.fd.get());
      // The client sees EOF now; the descriptor itself is closed when the thread is reaped.
      ::shutdown(conn.fd.get(), SHUT_RDWR);
      conn.done.store(true);
    });
  }
}

void Server::ReapFinished() {
  std::lock_guard lock(mu_);
  for (auto it = connections_.begin(); it != connections_.end();) {
    if (it->done.load()) {
      it->thread.join();
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
}

void Server::ServeConnection(int fd) {
  LineReader reader(fd);
  std::string line;
  bool error = false;
  while (reader.ReadLine(line, error)) {
    if (line == "get=1" || line == "tundra_stats=1") {
      char blank = 0;
      if (!reader.ReadByte(blank) || blank != '\n') {
        WriteAll(fd, fmt::format("errno={}\n\n", kErrnoInvalid));
        return;
      }
      std::string reply;
      if (line == "get=1") {
        reply = FormatGet(device_.GetStatus());
      } else {
        std::vector<std::pair<std::string, uint64_t>> counters;
        const auto drops = device_.GetDropCounters();
        for (size_t i = 1; i < drops.size(); ++i) {
          counters.emplace_back(
              fmt::format("drop_{}", proto::DropReasonName(static_cast<proto::DropReason>(i))),
              drops[i]);
        }
        for (size_t i = 0; i < size_t(tun::TunDropReason::kCount); ++i) {
          const auto reason = static_cast<tun::TunDropReason>(i);
          counters.emplace_back(fmt::format("tun_drop_{}", tun::TunDropReasonName(reason)),
                                device_.tun_drops().Get(reason));
        }
        counters.emplace_back("icmp_unreachable_sent", device_.icmp_errors_sent());
        const tun::TunOffloadCounters::Snapshot off = device_.tun_offloads();
        counters.emplace_back("tun_super_packets_read", off.super_packets_read);
        counters.emplace_back("tun_segments_split", off.segments_split);
        counters.emplace_back("tun_super_packets_written", off.super_packets_written);
        counters.emplace_back("tun_packets_coalesced", off.packets_coalesced);
        reply = FormatStats(counters);
      }
      if (!WriteAll(fd, reply)) return;
    } else if (line == "set=1") {
      std::vector<std::string> lines;
      std::string l;
      bool ended = false;
      while (reader.ReadLine(l, error)) {
        if (l.empty()) {
          ended = true;
          break;
        }
        lines.push_back(std::move(l));
      }
      if (error) {
        WriteAll(fd, fmt::format("errno={}\n\n", kErrnoIo));
        return;
      }
      SetRequest req = ParseSet(lines);
      int code = req.error;
      if (code != 0) {
        TUNDRA_LOG(kError, "{}: UAPI set: {}", device_.name(), req.error_detail);
      }
      Status applied = device_.Apply(req.update);
      if (!applied.ok()) {
        TUNDRA_LOG(kError, "{}: UAPI set: {}", device_.name(), applied.error().message());
        code = ErrnoForApplyError(applied.error());
      }
      if (!WriteAll(fd, fmt::format("errno={}\n\n", code))) return;
      if (!ended) return;  // EOF also ends a set
    } else {
      // Unknown operation: wireguard-go closes the connection without a reply.
      TUNDRA_LOG(kVerbose, "{}: UAPI: unknown operation '{}'", device_.name(), line.substr(0, 32));
      return;
    }
  }
}

}  // namespace tundra::uapi
