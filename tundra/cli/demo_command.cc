// tundra demo: tundra end to end with zero configuration, from the installed binary alone.
//
// Two hosts, A and B, as anonymous network namespaces joined by a veth pair (underlay
// 198.18.0.1/.2 and fd18::1/::2); keys made in process; a tundra daemon in each (this binary,
// `tundra daemon -f`), configured over its UAPI socket; pings through the tunnel (198.19.0.1/.2,
// fd19::1/::2) both ways over IPv4 and IPv6; a timed TCP stream A -> B with a live progress
// line; `tundra show` of both ends; then everything is removed. The namespaces are held only by
// this process's descriptors and the daemons (which get SIGTERM when it dies,
// PR_SET_PDEATHSIG), so SIGINT, SIGTERM, a failure or even SIGKILL leave no namespace,
// interface, process or socket behind.
#include <fcntl.h>
#include <fmt/core.h>
#include <linux/limits.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <optional>

#include "tundra/cli/args.h"
#include "tundra/cli/commands.h"
#include "tundra/cli/demo_net.h"
#include "tundra/cli/show.h"
#include "tundra/cli/signals.h"
#include "tundra/crypto/key_text.h"
#include "tundra/crypto/x25519.h"
#include "tundra/netlink/address.h"
#include "tundra/netlink/link.h"
#include "tundra/uapi/client.h"
#include "tundra/uapi/server.h"

namespace tundra::cli {
namespace {

constexpr uint16_t kPortA = 51820, kPortB = 51821, kStreamPort = 5201;
constexpr int kDaemonStartMs = 10'000;

void Step(const std::string& text) {
  if (::isatty(STDOUT_FILENO)) {
    fmt::print("\n\033[1m== {}\033[0m\n", text);
  } else {
    fmt::print("\n== {}\n", text);
  }
  std::fflush(stdout);
}

struct Host {
  Host(const char* label_, const char* veth_, const char* u4, const char* u6, const char* t4,
       const char* t6, uint16_t port_)
      : label(label_),
        veth(veth_),
        underlay4(u4),
        underlay6(u6),
        tunnel4(t4),
        tunnel6(t6),
        port(port_) {}
  const char* label;      // "A"
  std::string ifname;     // the tunnel interface
  const char* veth;       // "va"
  const char* underlay4;  // "198.18.0.1/24"
  const char* underlay6;  // "fd18::1/64"
  const char* tunnel4;    // "198.19.0.1/24"
  const char* tunnel6;    // "fd19::1/64"
  uint16_t port;
  UniqueFd ns;
  std::optional<netlink::NetlinkSocket> nl;
  crypto::PrivateKey key;
  crypto::PublicKey pub{};
  pid_t daemon = -1;
};

routing::IpPrefix Prefix(const char* text) { return *routing::IpPrefix::Parse(text); }
routing::IpAddress Address(const char* text) { return Prefix(text).address(); }

// Everything the demo made, removed in reverse on every way out.
class Demo {
 public:
  Demo(int stop_fd, UniqueFd home) : stop_fd_(stop_fd), home_(std::move(home)) {}
  ~Demo() { Teardown(); }

  Status Run(double seconds);
  void Teardown();

 private:
  Status MakeHosts();
  Status StartDaemon(Host& h);
  Status Configure(Host& self, const Host& peer);

  int stop_fd_;
  UniqueFd home_;
  Host a_{"A", "va", "198.18.0.1/24", "fd18::1/64", "198.19.0.1/24", "fd19::1/64", kPortA};
  Host b_{"B", "vb", "198.18.0.2/24", "fd18::2/64", "198.19.0.2/24", "fd19::2/64", kPortB};
  bool torn_down_ = false;
};

Status Demo::MakeHosts() {
  for (Host* h : {&a_, &b_}) {
    auto ns = demo::NewNetns(home_.get());
    if (!ns.ok()) return ns.error().Wrap(fmt::format("host {}", h->label));
    h->ns = std::move(*ns);
    Status s = demo::InNetns(h->ns.get(), home_.get(), [h]() -> Status {
      auto nl = netlink::NetlinkSocket::Open();
      if (!nl.ok()) return nl.error();
      h->nl.emplace(std::move(*nl));
      return netlink::SetLinkUp(*h->nl, "lo", true);
    });
    if (!s.ok()) return s.error().Wrap(fmt::format("host {}", h->label));
  }
  if (Status s = netlink::CreateVethPair(*a_.nl, a_.veth, b_.veth, b_.ns.get()); !s.ok()) {
    return s;
  }
  for (Host* h : {&a_, &b_}) {
    if (Status s = netlink::AddAddress(*h->nl, h->veth, Prefix(h->underlay4)); !s.ok()) return s;
    if (Status s = netlink::AddAddress(*h->nl, h->veth, Prefix(h->underlay6), {.nodad = true});
        !s.ok()) {
      return s;
    }
    if (Status s = netlink::SetLinkUp(*h->nl, h->veth, true); !s.ok()) return s;
    fmt::print("host {}: {} {} {}\n", h->label, h->veth, h->underlay4, h->underlay6);
  }
  return OkStatus();
}

Status Demo::StartDaemon(Host& h) {
  char exe[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return ErrnoError("readlink(/proc/self/exe)");
  exe[n] = '\0';
  fmt::print("$ tundra daemon -f {}        (in host {})\n", h.ifname, h.label);
  std::fflush(stdout);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return ErrnoError("fork");
  if (pid == 0) {
    // The child: into the host's namespace, killed with the demo, signals as usual.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent || ::setns(h.ns.get(), CLONE_NEWNET) != 0) ::_exit(127);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::setenv("LOG_LEVEL", "error", 1);
    ::execl(exe, exe, "daemon", "-f", h.ifname.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  h.daemon = pid;
  const std::string path = uapi::SocketPath(h.ifname);
  for (int waited = 0; waited < kDaemonStartMs; waited += 50) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      h.daemon = -1;
      return MakeError(ECHILD,
                       fmt::format("the daemon for {} exited (status {})", h.ifname, status));
    }
    if (uapi::Exchange(path, SecretString("get=1\n\n")).ok()) return OkStatus();
    if (!demo::Sleep(stop_fd_, 50)) return MakeError(EINTR, "interrupted by a signal");
  }
  return MakeError(ETIMEDOUT, fmt::format("{}: no UAPI socket after {} ms", path, kDaemonStartMs));
}

Status Demo::Configure(Host& self, const Host& peer) {
  const routing::IpPrefix peer4 = Prefix(peer.tunnel4), peer6 = Prefix(peer.tunnel6);
  const std::string peer_ep =
      fmt::format("{}:{}", Prefix(peer.underlay4).address().ToString(), peer.port);
  fmt::print("{}: listen port {}, peer {} (host {}) at {}, allowed ips {}/32, {}/128\n",
             self.ifname, self.port, crypto::KeyToBase64(peer.pub), peer.label, peer_ep,
             peer4.address().ToString(), peer6.address().ToString());
  SecretString req = "set=1\nprivate_key=";
  static constexpr char kHex[] = "0123456789abcdef";
  for (uint8_t byte : self.key.span()) {
    req.push_back(kHex[byte >> 4]);
    req.push_back(kHex[byte & 15]);
  }
  req += fmt::format(
      "\nlisten_port={}\nreplace_peers=true\npublic_key={}\nendpoint={}\n"
      "replace_allowed_ips=true\nallowed_ip={}/32\nallowed_ip={}/128\n\n",
      self.port, crypto::KeyToHex(peer.pub), peer_ep, peer4.address().ToString(),
      peer6.address().ToString());
  auto reply = uapi::Exchange(uapi::SocketPath(self.ifname), req);
  if (!reply.ok()) return reply.error();
  if (std::string_view(reply->data(), reply->size()) != "errno=0\n\n") {
    return MakeError(EPROTO, fmt::format("{}: set=1 was refused: {}", self.ifname,
                                         std::string(reply->data(), reply->size())));
  }
  for (const char* addr : {self.tunnel4, self.tunnel6}) {
    if (Status s = netlink::AddAddress(*self.nl, self.ifname, Prefix(addr), {.nodad = true});
        !s.ok()) {
      return s;
    }
  }
  if (Status s = netlink::SetLinkUp(*self.nl, self.ifname, true); !s.ok()) return s;
  fmt::print("{}: {} {}, up\n", self.ifname, self.tunnel4, self.tunnel6);
  return OkStatus();
}

Status Demo::Run(double seconds) {
  const unsigned id = unsigned(::getpid()) % 10'000'000;
  a_.ifname = fmt::format("tdemo{}a", id);
  b_.ifname = fmt::format("tdemo{}b", id);

  Step("Two hosts, A and B: network namespaces joined by a veth pair");
  if (Status s = MakeHosts(); !s.ok()) return s;

  Step("Keys (made in process; they never appear on a command line)");
  for (Host* h : {&a_, &b_}) {
    h->key = crypto::GeneratePrivateKey();
    h->pub = crypto::PublicFromPrivate(h->key);
    fmt::print("host {} public key: {}\n", h->label, crypto::KeyToBase64(h->pub));
  }

  Step("A tundra daemon on each host (wireguard-go's contract: tundra [-f] IFNAME)");
  for (Host* h : {&a_, &b_}) {
    if (Status s = StartDaemon(*h); !s.ok()) return s;
  }

  Step("Both configured over their UAPI sockets (what `wg set` does)");
  if (Status s = Configure(a_, b_); !s.ok()) return s;
  if (Status s = Configure(b_, a_); !s.ok()) return s;

  Step("Pings through the tunnel, both ways, IPv4 and IPv6");
  for (auto [from, to] : {std::pair{&a_, &b_}, std::pair{&b_, &a_}}) {
    for (const char* dst : {to->tunnel4, to->tunnel6}) {
      const routing::IpAddress ip = Address(dst);
      fmt::print("host {} -> host {}: ping {}\n", from->label, to->label, ip.ToString());
      auto r = demo::Ping(from->ns.get(), home_.get(), ip, 3, std::chrono::seconds(5), stop_fd_);
      if (!r.ok()) return r.error();
      if (r->received != r->sent) {
        return MakeError(EHOSTUNREACH, fmt::format("ping {}: {} of {} replies", ip.ToString(),
                                                   r->received, r->sent));
      }
    }
  }

  Step(fmt::format("A {:g}-second TCP stream from host A to host B through the tunnel", seconds));
  auto t = demo::Transfer(a_.ns.get(), b_.ns.get(), home_.get(), Address(b_.tunnel4), kStreamPort,
                          seconds, stop_fd_);
  if (!t.ok()) return t.error();
  fmt::print("transferred {:.1f} MiB in {:.2f} s: {:.1f} Mbit/s, every byte arrived\n",
             double(t->received) / (1 << 20), t->seconds,
             double(t->received) * 8 / t->seconds / 1e6);

  Step("tundra show, both ends");
  std::vector<std::string> warnings;
  auto shown =
      RenderShow({a_.ifname, b_.ifname}, ShowFormat::kText, uapi::kDefaultSocketDir, warnings);
  if (!shown.ok()) return shown.error();
  fmt::print("$ tundra show {} {}\n{}", a_.ifname, b_.ifname, *shown);
  return OkStatus();
}

void Demo::Teardown() {
  if (torn_down_) return;
  torn_down_ = true;
  std::fflush(stdout);
  // The daemons first: SIGTERM removes their interfaces and sockets.
  for (Host* h : {&a_, &b_}) {
    if (h->daemon > 0) ::kill(h->daemon, SIGTERM);
  }
  for (Host* h : {&a_, &b_}) {
    if (h->daemon <= 0) continue;
    int status = 0;
    bool gone = false;
    for (int waited = 0; waited < 5000 && !gone; waited += 20) {
      gone = ::waitpid(h->daemon, &status, WNOHANG) == h->daemon;
      if (!gone) ::usleep(20'000);
    }
    if (!gone) {
      ::kill(h->daemon, SIGKILL);
      ::waitpid(h->daemon, &status, 0);
    }
    h->daemon = -1;
  }
  for (Host* h : {&a_, &b_}) {
    if (h->ifname.empty()) continue;
    const std::string path = uapi::SocketPath(h->ifname);
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
    h->nl.reset();
    h->ns.reset();  // the last reference: the namespace goes, with its veth and interfaces
  }
}

}  // namespace

int RunDemo(CommandArgs args) {
  ArgParser p("tundra demo", "",
              "Show tundra end to end (root): two hosts as network namespaces joined by a veth\n"
              "(underlay 198.18.0.1/.2, fd18::1/::2), a tundra daemon on each, configured over\n"
              "the UAPI socket, pings through the tunnel (198.19.0.1/.2, fd19::1/::2) both ways\n"
              "over IPv4 and IPv6, a timed TCP stream with a live progress line and its\n"
              "throughput, `tundra show` of both ends. Everything is removed at the end, also on\n"
              "SIGINT/SIGTERM or a failure: nothing leaves this machine, nothing stays behind.");
  p.Option("seconds", "S", "length of the TCP stream (default 3, at most 600)");
  auto parsed = p.Parse(args, 0, 0);
  if (!parsed.ok()) return ReportError(parsed.error(), kExitUsage);
  if (parsed->help_requested()) {
    fmt::print("{}", p.Usage());
    return kExitOk;
  }
  double seconds = 3;
  if (auto s = parsed->Get("seconds")) {
    auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), seconds);
    if (ec != std::errc() || ptr != s->data() + s->size() || !(seconds > 0 && seconds <= 600)) {
      return ReportError(InvalidArgument(fmt::format("demo: --seconds {}: want 0-600", *s)),
                         kExitUsage);
    }
  }
  if (::geteuid() != 0) {
    return ReportError(MakeError(EPERM, "demo: needs root (network namespaces, TUN devices)"));
  }
  auto stop = BlockedSignalFd({SIGINT, SIGTERM});
  if (!stop.ok()) return ReportError(stop.error().Wrap("demo"));
  UniqueFd home(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!home) return ReportError(ErrnoError("demo: open(/proc/thread-self/ns/net)"));
  Status result;
  {
    Demo demo(stop->get(), std::move(home));
    result = demo.Run(seconds);
    Step("Tearing down: daemons stopped, interfaces, sockets and namespaces removed");
    demo.Teardown();
  }
  if (!result.ok()) {
    ReportError(result.error().Wrap("demo"));
    if (result.error().code() != EINTR) return kExitFailure;
    // Interrupted: exit as the shell reports a process killed by that signal (130, 143).
    signalfd_siginfo info{};
    const bool got = ::read(stop->get(), &info, sizeof(info)) == ssize_t(sizeof(info));
    return 128 + (got ? int(info.ssi_signo) : SIGINT);
  }
  fmt::print("{}", ::isatty(STDOUT_FILENO) ? "\n\033[1mdemo: OK\033[0m\n" : "\ndemo: OK\n");
  return kExitOk;
}

}  // namespace tundra::cli
