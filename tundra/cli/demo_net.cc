#include "tundra/cli/demo_net.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "tundra/base/syscall.h"

namespace tundra::cli::demo {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

socklen_t ToSockaddr(const routing::IpAddress& ip, uint16_t port, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof(ss));
  if (ip.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, ip.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  std::memcpy(&sin6->sin6_addr, ip.data(), 16);
  return sizeof(sockaddr_in6);
}

Result<UniqueFd> SocketIn(int ns, int home, int family, int type, int protocol) {
  UniqueFd fd;
  Status s = InNetns(ns, home, [&]() -> Status {
    fd = UniqueFd(::socket(family, type | SOCK_CLOEXEC, protocol));
    if (!fd) return ErrnoError("socket");
    return OkStatus();
  });
  if (!s.ok()) return s.error();
  return fd;
}

uint16_t Checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += uint32_t(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += uint32_t(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

// Waits for `fd` to have `events`, for at most `ms`: 1 ready, 0 timeout, -1 stopped.
int WaitFor(int fd, short events, int stop_fd, int ms) {
  pollfd p[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
  int n = RetryOnEintr(::poll, p, 2, ms);
  if (n < 0 || (p[1].revents & POLLIN)) return -1;
  return n > 0 && p[0].revents ? 1 : 0;
}

Error Stopped() { return MakeError(EINTR, "interrupted by a signal"); }

}  // namespace

Result<UniqueFd> NewNetns(int home) {
  if (::unshare(CLONE_NEWNET) != 0) return ErrnoError("unshare(CLONE_NEWNET)");
  UniqueFd ns(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  const int err = errno;
  if (::setns(home, CLONE_NEWNET) != 0) return ErrnoError("setns(home)");
  if (!ns) return ErrnoError("open(/proc/thread-self/ns/net)", err);
  return ns;
}

Status InNetns(int ns, int home, const std::function<Status()>& f) {
  if (::setns(ns, CLONE_NEWNET) != 0) return ErrnoError("setns");
  Status s = f();
  if (::setns(home, CLONE_NEWNET) != 0) return ErrnoError("setns(home)");
  return s;
}

bool Sleep(int stop_fd, int ms) {
  pollfd p = {stop_fd, POLLIN, 0};
  const auto end = Clock::now() + std::chrono::milliseconds(ms);
  for (;;) {
    const int left =
        int(std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count());
    if (left <= 0) return true;
    int n = ::poll(&p, 1, left);
    if (n > 0) return false;
  }
}

Result<PingResult> Ping(int ns, int home, const routing::IpAddress& to, int count,
                        std::chrono::milliseconds timeout, int stop_fd) {
  const bool v4 = to.is_v4();
  auto fd = SocketIn(ns, home, v4 ? AF_INET : AF_INET6, SOCK_RAW,
                     v4 ? int(IPPROTO_ICMP) : int(IPPROTO_ICMPV6));
  if (!fd.ok()) return fd.error().Wrap("ping");
  sockaddr_storage ss;
  const socklen_t len = ToSockaddr(to, 0, ss);
  const uint16_t id = uint16_t(::getpid());
  PingResult r;
  double total = 0;
  for (int seq = 1; seq <= count; ++seq) {
    if (seq > 1 && !Sleep(stop_fd, 200)) return Stopped();
    uint8_t pkt[64] = {};
    pkt[0] = v4 ? uint8_t(ICMP_ECHO) : uint8_t(ICMP6_ECHO_REQUEST);
    pkt[4] = uint8_t(id >> 8), pkt[5] = uint8_t(id);
    pkt[6] = uint8_t(seq >> 8), pkt[7] = uint8_t(seq);
    for (size_t i = 8; i < sizeof(pkt); ++i) pkt[i] = uint8_t(i);
    if (v4) {  // the kernel fills in ICMPv6 checksums, not ICMPv4 ones
      const uint16_t c = Checksum(pkt, sizeof(pkt));
      pkt[2] = uint8_t(c >> 8), pkt[3] = uint8_t(c);
    }
    const auto start = Clock::now();
    if (::sendto(fd->get(), pkt, sizeof(pkt), 0, reinterpret_cast<sockaddr*>(&ss), len) < 0) {
      return ErrnoError(fmt::format("ping {}: sendto", to.ToString()));
    }
    ++r.sent;
    for (;;) {
      const int left = int(timeout.count() - MsSince(start));
      if (left <= 0) {
        fmt::print("  no reply from {}: icmp_seq={}\n", to.ToString(), seq);
        break;
      }
      const int w = WaitFor(fd->get(), POLLIN, stop_fd, left);
      if (w < 0) return Stopped();
      if (w == 0) continue;
      uint8_t buf[1500];
      ssize_t n = ::recv(fd->get(), buf, sizeof(buf), 0);
      if (n <= 0) continue;
      size_t off = 0;
      if (v4) off = size_t(buf[0] & 0x0f) * 4;  // raw IPv4 sockets see the IP header
      if (size_t(n) < off + 8) continue;
      const uint8_t* icmp = buf + off;
      const bool reply = icmp[0] == (v4 ? int(ICMP_ECHOREPLY) : int(ICMP6_ECHO_REPLY));
      if (!reply || (icmp[4] << 8 | icmp[5]) != id || (icmp[6] << 8 | icmp[7]) != seq) continue;
      const double ms = MsSince(start);
      fmt::print("  {} bytes from {}: icmp_seq={} time={:.3f} ms\n", size_t(n) - off, to.ToString(),
                 seq, ms);
      ++r.received;
      total += ms;
      r.min_ms = r.received == 1 ? ms : std::min(r.min_ms, ms);
      r.max_ms = std::max(r.max_ms, ms);
      break;
    }
  }
  if (r.received) r.avg_ms = total / r.received;
  fmt::print("  {} packets transmitted, {} received, rtt min/avg/max {:.3f}/{:.3f}/{:.3f} ms\n",
             r.sent, r.received, r.min_ms, r.avg_ms, r.max_ms);
  return r;
}

Result<TransferResult> Transfer(int from_ns, int to_ns, int home, const routing::IpAddress& to,
                                uint16_t port, double seconds, int stop_fd) {
  const int family = to.is_v4() ? AF_INET : AF_INET6;
  sockaddr_storage ss;
  const socklen_t len = ToSockaddr(to, port, ss);
  auto listener = SocketIn(to_ns, home, family, SOCK_STREAM, 0);
  if (!listener.ok()) return listener.error();
  int one = 1;
  ::setsockopt(listener->get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(listener->get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      ::listen(listener->get(), 1) != 0) {
    return ErrnoError(fmt::format("transfer: listen on {} port {}", to.ToString(), port));
  }
  auto client = SocketIn(from_ns, home, family, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (!client.ok()) return client.error();
  if (::connect(client->get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 &&
      errno != EINPROGRESS) {
    return ErrnoError(fmt::format("transfer: connect to {}", to.ToString()));
  }
  const int a = WaitFor(listener->get(), POLLIN, stop_fd, 10'000);
  if (a < 0) return Stopped();
  if (a == 0) return MakeError(ETIMEDOUT, "transfer: the connection did not come through");
  UniqueFd server(::accept4(listener->get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  if (!server) return ErrnoError("transfer: accept");
  int err = 0;
  socklen_t elen = sizeof(err);
  ::getsockopt(client->get(), SOL_SOCKET, SO_ERROR, &err, &elen);
  if (err != 0) return ErrnoError("transfer: connect", err);

  std::vector<uint8_t> chunk(256 * 1024), sink(256 * 1024);
  for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = uint8_t(i * 7);
  TransferResult r;
  const bool tty = ::isatty(STDOUT_FILENO);
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  auto next_report = start + std::chrono::milliseconds(tty ? 250 : 1000);
  bool writing = true;
  auto progress = [&](bool last) {
    const double t = MsSince(start) / 1000;
    const std::string line =
        fmt::format("  {:5.1f} s  {:9.1f} MiB  {:8.1f} Mbit/s", t, double(r.received) / (1 << 20),
                    t > 0 ? double(r.received) * 8 / t / 1e6 : 0.0);
    if (tty) {
      fmt::print("\r{}{}", line, last ? "\n" : "");
    } else {
      fmt::print("{}\n", line);
    }
    std::fflush(stdout);
  };
  // Reads until the sender has finished and everything it sent has arrived (or EOF).
  for (;;) {
    if (writing && Clock::now() >= end) {
      writing = false;
      ::shutdown(client->get(), SHUT_WR);
    }
    if (!writing && r.received >= r.sent) break;
    if (!writing && MsSince(start) > seconds * 1000 + 10'000) {
      return MakeError(ETIMEDOUT,
                       fmt::format("transfer: {} of {} bytes arrived", r.received, r.sent));
    }
    pollfd p[3] = {{server.get(), POLLIN, 0},
                   {client->get(), short(writing ? POLLOUT : 0), 0},
                   {stop_fd, POLLIN, 0}};
    if (RetryOnEintr(::poll, p, 3, 100) < 0) return ErrnoError("transfer: poll");
    if (p[2].revents & POLLIN) {
      if (tty) fmt::print("\n");
      return Stopped();
    }
    if (p[1].revents & POLLOUT) {
      ssize_t n = ::send(client->get(), chunk.data(), chunk.size(), MSG_NOSIGNAL);
      if (n > 0) {
        r.sent += uint64_t(n);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        return ErrnoError("transfer: send");
      }
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(server.get(), sink.data(), sink.size());
      if (n > 0) {
        r.received += uint64_t(n);
      } else if (n == 0) {
        break;
      } else if (errno != EAGAIN && errno != EINTR) {
        return ErrnoError("transfer: read");
      }
    }
    if (Clock::now() >= next_report && writing) {
      progress(false);
      next_report += std::chrono::milliseconds(tty ? 250 : 1000);
    }
  }
  r.seconds = MsSince(start) / 1000;
  progress(true);
  if (r.received != r.sent) {
    return MakeError(EIO, fmt::format("transfer: {} bytes sent, {} arrived", r.sent, r.received));
  }
  return r;
}

}  // namespace tundra::cli::demo
