#include "tundra/cli/daemon.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tundra/base/log.h"
#include "tundra/base/scope_exit.h"
#include "tundra/base/syscall.h"
#include "tundra/cli/event_loop.h"
#include "tundra/cli/hooks.h"
#include "tundra/cli/link_watch.h"
#include "tundra/cli/privileges.h"
#include "tundra/cli/signals.h"
#include "tundra/device/device.h"
#include "tundra/netlink/link.h"
#include "tundra/netlink/route.h"
#include "tundra/transport/mux_bind.h"
#include "tundra/transport/udp_bind_linux.h"
#include "tundra/tun/tun_linux.h"
#include "tundra/uapi/server.h"

namespace tundra::cli {
namespace {

// DeviceOptions::route_oif: `ip route get ENDPOINT from STICKY_SOURCE mark FWMARK` over one
// netlink socket in the daemon's namespace, where its UDP sockets are (opened on first use).
std::function<Result<int>(const transport::Endpoint&, uint32_t)> RouteOif() {
  struct State {
    std::mutex mu;
    std::optional<netlink::NetlinkSocket> nl;  // guarded by mu
  };
  auto state = std::make_shared<State>();
  return [state](const transport::Endpoint& to, uint32_t mark) -> Result<int> {
    const ByteSpan addr = to.AddressBytes();
    const bool v6 = to.family() == AF_INET6;
    const routing::IpAddress dst =
        v6 ? routing::IpAddress::V6(addr.data()) : routing::IpAddress::V4(addr.data());
    const routing::IpAddress src =
        v6 ? routing::IpAddress::V6(to.source_v6().s6_addr)
           : routing::IpAddress::V4(reinterpret_cast<const uint8_t*>(&to.source_v4().s_addr));
    std::lock_guard lock(state->mu);
    if (!state->nl) {
      auto nl = netlink::NetlinkSocket::Open();
      if (!nl.ok()) return nl.error();
      state->nl.emplace(std::move(*nl));
    }
    TUNDRA_ASSIGN_OR_RETURN(netlink::Route route, netlink::GetRoute(*state->nl, dst, src, mark));
    return route.oif;
  };
}

// The child tells the waiting parent how start-up went: "0", or "1" followed by the error.
class ReadyPipe {
 public:
  Status Create() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return ErrnoError("pipe2");
    read_.reset(p[0]);
    write_.reset(p[1]);
    return OkStatus();
  }
  // Parent: waits for the verdict; returns the exit code.
  int WaitInParent() {
    write_.reset();
    std::string msg;
    char buf[512];
    for (;;) {
      ssize_t n = RetryOnEintr(::read, read_.get(), buf, sizeof(buf));
      if (n <= 0) break;
      msg.append(buf, size_t(n));
    }
    if (msg == "0") return 0;
    if (msg.empty()) msg = "1the daemon exited during start-up";
    fmt::print(stderr, "tundra: {}\n", msg.substr(1));
    return 1;
  }
  void Report(const std::string& verdict) {
    if (!write_) return;
    ssize_t r = ::write(write_.get(), verdict.data(), verdict.size());
    (void)r;
    write_.reset();
  }
  void CloseReadEnd() { read_.reset(); }
  bool active() const { return write_.valid(); }

 private:
  UniqueFd read_, write_;
};

// SIGINT/SIGTERM/SIGHUP, taken through a signalfd (blocked here, before any thread exists).
Result<UniqueFd> TakeSignals() {
  ::signal(SIGPIPE, SIG_IGN);
  return BlockedSignalFd({SIGINT, SIGTERM, SIGHUP});
}

// The UAPI socket file, watched: removing (or replacing) it stops the daemon, as wireguard-go.
class SocketFileWatch {
 public:
  static Result<SocketFileWatch> Open(const std::string& path) {
    SocketFileWatch w;
    w.path_ = path;
    w.fd_.reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!w.fd_) return ErrnoError("inotify_init1");
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return ErrnoError("stat(" + path + ")");
    w.inode_ = st.st_ino;
    if (::inotify_add_watch(w.fd_.get(), path.c_str(), IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF) <
        0) {
      return ErrnoError("inotify_add_watch(" + path + ")");
    }
    return w;
  }
  int fd() const { return fd_.get(); }
  // Reads the pending events; true when the path no longer names the daemon's socket.
  bool Removed() {
    char buf[4096];
    while (::read(fd_.get(), buf, sizeof(buf)) > 0) {
    }
    struct stat now {};
    return ::stat(path_.c_str(), &now) != 0 || now.st_ino != inode_;
  }

 private:
  std::string path_;
  UniqueFd fd_;
  ino_t inode_ = 0;
};

// Step 1: the interface, new or inherited (WG_TUN_FD), with the offloads when asked for. If
// anything later fails, closing the TUN removes the interface again.
Result<std::unique_ptr<tun::LinuxTun>> OpenTun(const DaemonOptions& options) {
  tun::TunOptions tun_options;
  tun_options.name = options.ifname;
  tun_options.mode = options.tap ? tun::TunMode::kTap : tun::TunMode::kTun;
  tun_options.no_pi = true;
  // TAP mode: no vnet header (the GSO split and GRO handle IP packets only; docs/l2.md "MTU").
  tun_options.vnet_hdr = options.offload && !options.tap;
  auto tun = options.tun_fd >= 0 ? tun::LinuxTun::Adopt(UniqueFd(options.tun_fd), kIdealBatchSize,
                                                        RealKernel(), tun_options.mode)
                                 : tun::LinuxTun::Open(tun_options);
  if (!tun.ok()) return options.tun_fd >= 0 ? tun.error().Wrap("WG_TUN_FD") : tun.error();
  const std::string& name = (*tun)->name();
  if (options.tap != ((*tun)->mode() == tun::TunMode::kTap) ||
      (options.tap && (*tun)->vnet_hdr())) {
    return InvalidArgument(fmt::format(
        "WG_TUN_FD: {} is a {}{}, not what {} needs", name, tun::TunModeName((*tun)->mode()),
        (*tun)->vnet_hdr() ? " with a vnet header" : "",
        options.tap ? "--mode tap (a TAP without vnet header)" : "a TUN-mode daemon (a TUN)"));
  }
  if (name != options.ifname) {
    TUNDRA_LOG(kInfo, "{}: the inherited TUN is {}: serving it under that name", options.ifname,
               name);
  }
  if ((*tun)->vnet_hdr()) {
    // Without offloads (an old kernel) the virtio-net header is still valid, one packet each.
    auto offloads = (*tun)->EnableOffloads();
    if (offloads.ok()) {
      TUNDRA_LOG(kVerbose, "{}: TUN offloads {:#x}", name, *offloads);
    } else {
      TUNDRA_LOG(kInfo, "{}: no TUN offloads: {}", name, offloads.error().message());
    }
  }
  auto nl = netlink::NetlinkSocket::Open();
  if (!nl.ok()) return nl.error();
  if (Status s = netlink::SetLinkMtu(*nl, name, options.mtu); !s.ok()) return s.error();
  return tun;
}

// A second handle on the daemon's TUN queue (a dup of its descriptor), for the link watch to
// ask where the device is after the device owns the queue. Never read or written.
Result<std::unique_ptr<tun::LinuxTun>> TunHandle(const tun::LinuxTun& tun) {
  UniqueFd dup(::fcntl(tun.poll_fd(), F_DUPFD_CLOEXEC, 0));
  if (!dup) return ErrnoError("fcntl(F_DUPFD_CLOEXEC) " + tun.name());
  return tun::LinuxTun::Adopt(std::move(dup), 1, RealKernel(), tun.mode());
}

// Step 2: the UAPI socket, new or inherited (WG_UAPI_FD).
Result<UniqueFd> OpenUapi(const DaemonOptions& options, const std::string& name) {
  if (options.uapi_fd >= 0) return UniqueFd(options.uapi_fd);
  return uapi::Listen(name, options.socket_dir);
}

// Step 3: into the background. The parent waits until the child serves (or failed) and returns
// its exit code; the child (and a foreground daemon) gets nullopt.
Result<std::optional<int>> Daemonize(const DaemonOptions& options, ReadyPipe& ready) {
  if (options.foreground) return std::optional<int>();
  TUNDRA_RETURN_IF_ERROR(ready.Create());
  const pid_t pid = ::fork();
  if (pid < 0) return ErrnoError("fork");
  if (pid > 0) return std::optional<int>(ready.WaitInParent());
  ready.CloseReadEnd();
  ::setsid();
  if (ChooseLogTarget(false, std::getenv("LOG_LEVEL") != nullptr) == LogTarget::kSyslog) {
    SetLogSink(&SyslogLogSink());
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
      ::dup2(null, STDIN_FILENO);
      ::dup2(null, STDOUT_FILENO);
      ::dup2(null, STDERR_FILENO);
      ::close(null);
    }
  }
  return std::optional<int>();
}

}  // namespace

int RunDaemonProcess(const DaemonOptions& options) {
  SetLogPrefix(options.ifname);
  // The daemon holds private keys and session keys: it never writes a core file.
  const rlimit no_core{0, 0};
  if (::setrlimit(RLIMIT_CORE, &no_core) != 0) {
    fmt::print(stderr, "tundra: {}\n", ErrnoError("setrlimit(RLIMIT_CORE)").message());
    return 1;
  }
  ReadyPipe ready;
  auto fail = [&](const Error& e) {
    if (ready.active()) {
      ready.Report("1" + e.message());
    } else {
      fmt::print(stderr, "tundra: {}\n", e.message());
    }
    TUNDRA_LOG(kError, "{}", e.message());
    return 1;
  };
  std::optional<TargetUser> user;  // looked up first: an unknown user creates nothing
  if (!options.user.empty()) {
    auto found = LookUpUser(options.user);
    if (!found.ok()) return fail(found.error().Wrap("--user"));
    user = *found;
  }

  // Steps 1-3: the interface, the UAPI socket, the background (the parent returns there).
  auto tun = OpenTun(options);
  if (!tun.ok()) return fail(tun.error());
  const std::string name = (*tun)->name();
  auto listener = OpenUapi(options, name);
  if (!listener.ok()) return fail(listener.error());
  const std::string socket_path = uapi::SocketPath(name, options.socket_dir);
  auto unlink_socket = ScopeExit([&] { ::unlink(socket_path.c_str()); });
  auto parent = Daemonize(options, ready);
  if (!parent.ok()) return fail(parent.error());
  if (parent->has_value()) {
    unlink_socket.Cancel();  // the child owns the socket now
    return **parent;
  }

  // Step 4: what ends the daemon or changes it, opened while still privileged (the link watch
  // listens in every namespace: CAP_NET_BROADCAST; the socket file is root's).
  auto signals = TakeSignals();
  if (!signals.ok()) return fail(signals.error());
  UniqueFd tun_failed(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!tun_failed) return fail(ErrnoError("eventfd"));
  auto tun_handle = TunHandle(**tun);
  if (!tun_handle.ok()) return fail(tun_handle.error());
  auto socket_file = SocketFileWatch::Open(socket_path);
  if (!socket_file.ok()) {  // e.g. an inherited WG_UAPI_FD bound elsewhere
    TUNDRA_LOG(kInfo, "not watching the socket file: {}", socket_file.error().message());
  }
  auto link = LinkWatch::Open(std::move(*tun_handle));  // MTU changes, moves, deletion
  if (!link.ok()) return fail(link.error());

  // Step 5: the unprivileged user, before any thread exists (capabilities are per thread).
  UniqueFd janitor;  // while open, a root child waits to remove the socket file after us
  if (user) {
    if (socket_file.ok()) {
      auto j = StartSocketJanitor(socket_path);
      if (!j.ok()) return fail(j.error());
      janitor = std::move(*j);
    }
    if (Status s = DropPrivileges(*user); !s.ok()) return fail(s.error().Wrap("--user"));
    TUNDRA_LOG(kInfo, "running as {} (uid {}, gid {}) with CAP_NET_ADMIN only", options.user,
               user->uid, user->gid);
  }
  if (Status s = MakeNotDumpable(); !s.ok()) return fail(s.error());  // after any uid change

  // Step 6: the hooks, the device and the UAPI server.
  std::unique_ptr<ScaledClock> scaled_clock;
  if (options.time_scale != 1) {
    scaled_clock = std::make_unique<ScaledClock>(options.time_scale);
    TUNDRA_LOG(kInfo, "TEST-ONLY: protocol timers run {}x as fast (TUNDRA_TEST_TIME_SCALE)",
               options.time_scale);
  }
  std::unique_ptr<HookRunner> hooks;
  if (!options.hooks.empty()) {
    hooks = std::make_unique<HookRunner>(
        name, options.hooks,
        [](std::string_view line, const HookContext& ctx) { return RunHook(line, ctx); });
    hooks->Start();
  }
  device::DeviceOptions device_options;
  device_options.name = name;
  device_options.mtu = options.mtu;
  device_options.tap = options.tap;
  device_options.mac_table = options.mac_table;
  device_options.clock = scaled_clock.get();
  device_options.on_tun_failure = [fd = tun_failed.get()](const Error&) {
    uint64_t one = 1;
    ssize_t r = ::write(fd, &one, sizeof(one));
    (void)r;
  };
  if (hooks) {
    device_options.on_peer_event = [h = hooks.get()](const device::PeerEvent& e) { h->Post(e); };
  }
  device_options.route_oif = RouteOif();
  // UDP, plus the TCP transport (off until configured: docs/tcp-transport.md).
  auto device = std::make_unique<device::Device>(
      std::move(*tun), std::make_unique<transport::MuxBind>(std::make_unique<transport::UdpBind>()),
      std::move(device_options));
  if (Status s = device->Start(); !s.ok()) return fail(s.error());
  uapi::Server server(std::move(*listener), socket_path, *device);
  unlink_socket.Cancel();  // Server::Stop unlinks it from now on (or the janitor)
  if (Status s = server.Start(); !s.ok()) return fail(s.error());
  // LOG_LEVEL set: stderr stays, as for a background daemon (wireguard-go's contract).
  if (options.syslog && std::getenv("LOG_LEVEL") == nullptr) SetLogSink(&SyslogLogSink());
  TUNDRA_LOG(kInfo, "device {} up: UDP port {}, UAPI {}", name, device->GetStatus().listen_port,
             socket_path);
  ready.Report("0");

  EventLoop loop;
  loop.Add("signals", signals->get(), [&] {
    signalfd_siginfo si;
    if (::read(signals->get(), &si, sizeof(si)) == sizeof(si)) {
      loop.Stop(fmt::format("received {}", strsignal(int(si.ssi_signo))));
    }
  });
  loop.Add("TUN failure", tun_failed.get(), [&] { loop.Stop("the interface was deleted"); });
  if (socket_file.ok()) {
    loop.Add("UAPI socket file", socket_file->fd(), [&] {
      if (!socket_file->Removed()) return;
      server.DisownPath();
      loop.Stop("the UAPI socket was removed");
    });
  }
  loop.Add("link events", link->fd(), [&] {
    auto update = link->Poll();
    if (!update.ok()) {
      TUNDRA_LOG(kWarn, "{}", update.error().message());
      return;
    }
    if (update->mtu && *update->mtu != device->mtu()) {
      TUNDRA_LOG(kInfo, "MTU changed to {}", *update->mtu);
      device->SetMtu(*update->mtu);
    }
    if (update->gone) loop.Stop(*update->gone);
  });
  const std::string reason = loop.Run();  // not inside TUNDRA_LOG: it skips its arguments
  TUNDRA_LOG(kInfo, "shutting down: {}", reason);
  server.Stop();
  device->Close();
  if (hooks) hooks->Stop();  // after the device: no more events
  return 0;
}

}  // namespace tundra::cli
