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

namespace tundra::uapi {
namespace {

constexpr size_t kMaxLine = 4096;
constexpr size_t kReadBuffer = 8192;

std::string ErrnoReply(int code) { return fmt::format("errno={}\n\n", code); }

bool IsLive(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  UniqueFd probe(fd);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  return ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
}

UniqueFd MakeEventFd() {
  int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  TUNDRA_CHECK(fd >= 0);
  return UniqueFd(fd);
}

}  // namespace

// Buffered I/O on one connection where every wait is a poll on the connection and the server's
// stop eventfd, bounded by the idle timeout: neither a stalled client nor Stop() waits forever.
// The read buffer can hold key hex: wiped.
class Server::Stream {
 public:
  enum Result { kOk, kEof, kFailed };  // kFailed: I/O error, idle timeout, Stop(), line too long

  Stream(int fd, int stop_fd, std::chrono::milliseconds idle)
      : fd_(fd), stop_fd_(stop_fd), idle_ms_(int(idle.count())), buf_(new char[kReadBuffer]) {}
  ~Stream() { SecureZero(buf_.get(), kReadBuffer); }

  // One line without its '\n'; at EOF a final unterminated line is returned first.
  Result ReadLine(SecretString& line) {
    line.clear();
    for (;;) {
      if (pos_ == len_) {
        const Result r = Fill();
        if (r != kOk) return r == kEof && !line.empty() ? kOk : r;
      }
      const char* start = buf_.get() + pos_;
      const char* nl = static_cast<const char*>(std::memchr(start, '\n', len_ - pos_));
      const size_t take = nl != nullptr ? size_t(nl - start) : len_ - pos_;
      if (line.size() + take > kMaxLine) {
        Fail("a line over 4096 bytes");
        return kFailed;
      }
      line.append(start, take);
      pos_ += take + (nl != nullptr ? 1 : 0);
      if (nl != nullptr) return kOk;
    }
  }

  // One byte (the blank line after get=1 must be exactly "\n").
  Result ReadByte(char& c) {
    if (pos_ == len_) {
      const Result r = Fill();
      if (r != kOk) return r;
    }
    c = buf_[pos_++];
    return kOk;
  }

  bool WriteAll(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = RetryOnEintr(::send, fd_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!Wait(POLLOUT)) return false;
      } else if (n <= 0) {
        return Fail(n < 0 ? std::strerror(errno) : "send returned 0");
      } else {
        data.remove_prefix(size_t(n));
      }
    }
    return true;
  }

  // Why the last call failed, for the log.
  const char* failure() const { return failure_; }

 private:
  bool Fail(const char* why) {
    failure_ = why;
    return false;
  }
  bool Wait(short events) {
    pollfd fds[2] = {{fd_, events, 0}, {stop_fd_, POLLIN, 0}};
    const int n = RetryOnEintr(::poll, fds, 2, idle_ms_);
    if (n < 0) return Fail(std::strerror(errno));
    if (n == 0) return Fail("idle timeout");
    if (fds[1].revents != 0) return Fail("server stopping");
    return true;
  }
  Result Fill() {
    if (!Wait(POLLIN)) return kFailed;
    const ssize_t n = RetryOnEintr(::read, fd_, buf_.get(), kReadBuffer);
    if (n < 0) {
      Fail(std::strerror(errno));
      return kFailed;
    }
    if (n == 0) return kEof;
    pos_ = 0;
    len_ = size_t(n);
    return kOk;
  }

  int fd_, stop_fd_, idle_ms_;
  std::unique_ptr<char[]> buf_;
  size_t pos_ = 0;
  size_t len_ = 0;
  const char* failure_ = "";
};

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

Server::Server(UniqueFd listener, std::string path, device::Device& device, ServerOptions options)
    : listener_(std::move(listener)),
      path_(std::move(path)),
      device_(device),
      options_(options),
      stop_fd_(MakeEventFd()),
      done_fd_(MakeEventFd()) {}

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
  // Every wait of the accept loop and of the connections polls stop_fd_ too.
  if (accept_thread_.joinable()) accept_thread_.join();
  for (Connection& c : connections_) c.thread.join();
  connections_.clear();
  listener_.reset();
  if (!path_.empty()) ::unlink(path_.c_str());
}

void Server::AcceptLoop() {
  while (!stopping_.load()) {
    // At the limit, new clients wait in the listen backlog until a connection ends.
    const bool room = ReapFinished() < options_.max_connections;
    pollfd fds[3] = {{stop_fd_.get(), POLLIN, 0},
                     {done_fd_.get(), POLLIN, 0},
                     {room ? listener_.get() : -1, POLLIN, 0}};
    if (RetryOnEintr(::poll, fds, 3, -1) < 0) {
      TUNDRA_LOG(kError, "UAPI poll: {}", std::strerror(errno));
      return;
    }
    if (fds[0].revents != 0) return;
    if (fds[1].revents != 0) {
      uint64_t count;
      ssize_t r = ::read(done_fd_.get(), &count, sizeof(count));
      (void)r;
    }
    if (fds[2].revents == 0) continue;
    int c = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) {
        TUNDRA_LOG_RATELIMITED(kError, "UAPI accept: {}", std::strerror(errno));
      }
      continue;
    }
    std::lock_guard lock(mu_);
    Connection& conn = connections_.emplace_back();
    conn.fd.reset(c);
    conn.thread = std::thread([this, &conn] {
      ServeConnection(conn.fd.get());
      // The client sees EOF now; the descriptor itself is closed when the thread is reaped.
      ::shutdown(conn.fd.get(), SHUT_RDWR);
      conn.done.store(true);
      uint64_t one = 1;
      ssize_t w = ::write(done_fd_.get(), &one, sizeof(one));
      (void)w;
    });
  }
}

size_t Server::ReapFinished() {
  std::lock_guard lock(mu_);
  for (auto it = connections_.begin(); it != connections_.end();) {
    if (it->done.load()) {
      it->thread.join();
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
  return connections_.size();
}

void Server::ServeConnection(int fd) {
  Stream stream(fd, stop_fd_.get(), options_.idle_timeout);
  SecretString line;
  while (stream.ReadLine(line) == Stream::kOk) {
    if (line == "get=1" || line == "tundra_stats=1" || line == "tundra_peers=1" ||
        line == "tundra_transports=1") {
      char blank = 0;
      if (stream.ReadByte(blank) != Stream::kOk || blank != '\n') {
        stream.WriteAll(ErrnoReply(kErrnoInvalid));
        return;
      }
      const bool sent = line == "get=1" ? stream.WriteAll(FormatGet(device_.GetStatus()))
                        : line == "tundra_stats=1"
                            ? stream.WriteAll(FormatStats(device_.Counters()))
                            : stream.WriteAll(FormatPeers(device_.GetStatus()));
      if (!sent) break;
    } else if (line == "set=1") {
      if (!ServeSet(stream)) break;
    } else {
      // Unknown operation: wireguard-go closes the connection without a reply.
      TUNDRA_LOG(kVerbose, "{}: UAPI: unknown operation {}", device_.name(), LoggableKey(line));
      return;
    }
  }
  if (stream.failure()[0] != '\0') {
    TUNDRA_LOG(kVerbose, "{}: UAPI connection closed: {}", device_.name(), stream.failure());
  }
}

bool Server::ServeSet(Stream& stream) {
  SetParser parser;
  SecretString line;
  size_t bytes = 0;
  Stream::Result r;
  while ((r = stream.ReadLine(line)) == Stream::kOk && !line.empty()) {
    bytes += line.size() + 1;
    if (bytes > options_.max_set_request_bytes) {
      TUNDRA_LOG(kError, "{}: UAPI set: request over {} bytes, not applied", device_.name(),
                 options_.max_set_request_bytes);
      stream.WriteAll(ErrnoReply(kErrnoMsgSize));
      return false;
    }
    parser.Line(line);
  }
  if (r == Stream::kFailed) {
    TUNDRA_LOG(kError, "{}: UAPI set: {}", device_.name(), stream.failure());
    stream.WriteAll(ErrnoReply(kErrnoIo));
    return false;
  }
  const SetRequest& req = parser.request();
  int code = req.error;
  if (code != 0) TUNDRA_LOG(kError, "{}: UAPI set: {}", device_.name(), req.error_detail);
  Status applied = device_.Apply(req.update);
  if (!applied.ok()) {
    TUNDRA_LOG(kError, "{}: UAPI set: {}", device_.name(), applied.error().message());
    code = ErrnoForApplyError(applied.error());
  }
  return stream.WriteAll(ErrnoReply(code)) && r == Stream::kOk;  // EOF also ends a set
}

}  // namespace tundra::uapi
