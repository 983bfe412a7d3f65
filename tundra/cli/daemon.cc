#include "tundra/cli/daemon.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <thread>

#include "tundra/base/log.h"
#include "tundra/base/scope_exit.h"
#include "tundra/base/syscall.h"
#include "tundra/device/device.h"
#include "tundra/netlink/link.h"
#include "tundra/netlink/monitor.h"
#include "tundra/transport/udp_bind_linux.h"
#include "tundra/tun/tun_linux.h"
#include "tundra/uapi/server.h"

namespace tundra::cli {
namespace {

// A link monitor in the network namespace `tun`'s device is in now (after `ip link set netns`),
// and the device's ifindex there. Netlink sockets belong to the namespace of the thread that
// creates them: a short-lived thread enters the namespace, opens the monitor and ends.
struct MovedLink {
  netlink::LinkMonitor monitor;
  int ifindex;
};
Result<MovedLink> MonitorWhereTheDeviceIs(const tun::LinuxTun& tun) {
  TUNDRA_ASSIGN_OR_RETURN(UniqueFd ns, tun.DeviceNetns());
  TUNDRA_ASSIGN_OR_RETURN(std::string name, tun.CurrentName());
  Result<netlink::LinkMonitor> opened = MakeError(ECHILD, "link monitor thread did not run");
  std::thread([&] {
    if (::setns(ns.get(), CLONE_NEWNET) != 0) {
      opened = ErrnoError("setns(the device's network namespace)");
      return;
    }
    opened = netlink::LinkMonitor::Open();
  }).join();
  if (!opened.ok()) return std::move(opened).error();
  const netlink::LinkInfo* link = opened->FindByName(name);
  if (link == nullptr) return MakeError(ENODEV, name + " is not in its new namespace");
  const int index = link->index;
  return MovedLink{std::move(*opened), index};
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

UniqueFd MakeFd(int fd) {
  TUNDRA_CHECK(fd >= 0);
  return UniqueFd(fd);
}

}  // namespace

int RunDaemonProcess(const DaemonOptions& options) {
  SetLogPrefix(options.ifname);
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

  // 1. The interface. If anything below fails, closing the TUN fd removes it again.
  tun::TunOptions tun_options;
  tun_options.name = options.ifname;
  tun_options.mode = tun::TunMode::kTun;
  tun_options.no_pi = true;
  tun_options.vnet_hdr = options.offload;
  tun_options.batch_size = 128;
  auto tun = options.tun_fd >= 0
                 ? tun::LinuxTun::Adopt(UniqueFd(options.tun_fd), tun_options.batch_size)
                 : tun::LinuxTun::Open(tun_options);
  if (!tun.ok()) return fail(options.tun_fd >= 0 ? tun.error().Wrap("WG_TUN_FD") : tun.error());
  const std::string name = (*tun)->name();
  const tun::LinuxTun* tun_raw = tun->get();  // owned by the device below; asked after a move
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
  if (!nl.ok()) return fail(nl.error());
  auto link = netlink::GetLink(*nl, name);
  if (!link.ok()) return fail(link.error());
  int ifindex = link->index;  // in the namespace the device is in (it can move)
  if (Status s = netlink::SetLinkMtu(*nl, name, options.mtu); !s.ok()) return fail(s.error());

  // 2. The UAPI socket.
  UniqueFd listener;
  std::string socket_path = uapi::SocketPath(name, options.socket_dir);
  if (options.uapi_fd >= 0) {
    listener.reset(options.uapi_fd);
  } else {
    auto l = uapi::Listen(name, options.socket_dir);
    if (!l.ok()) return fail(l.error());
    listener = std::move(*l);
  }
  auto unlink_socket = ScopeExit([&] { ::unlink(socket_path.c_str()); });

  // 3. Into the background: the parent waits until the child is serving (or failed).
  if (!options.foreground) {
    if (Status s = ready.Create(); !s.ok()) return fail(s.error());
    const pid_t pid = ::fork();
    if (pid < 0) return fail(ErrnoError("fork"));
    if (pid > 0) {
      unlink_socket.Cancel();  // the child owns the socket now
      return ready.WaitInParent();
    }
    ready.CloseReadEnd();
    ::setsid();
    if (std::getenv("LOG_LEVEL") == nullptr) {
      int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
      if (null >= 0) {
        ::dup2(null, STDIN_FILENO);
        ::dup2(null, STDOUT_FILENO);
        ::dup2(null, STDERR_FILENO);
        ::close(null);
      }
    }
  }

  // Signals are taken through a signalfd: block them before any thread exists.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  UniqueFd signal_fd = MakeFd(::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK));
  UniqueFd tun_gone_fd = MakeFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));

  // 4. The device and the UAPI server.
  device::DeviceOptions device_options;
  device_options.name = name;
  device_options.mtu = options.mtu;
  device_options.on_tun_failure = [fd = tun_gone_fd.get()](const Error&) {
    uint64_t one = 1;
    ssize_t r = ::write(fd, &one, sizeof(one));
    (void)r;
  };
  auto device = std::make_unique<device::Device>(
      std::move(*tun), std::make_unique<transport::UdpBind>(), std::move(device_options));
  if (Status s = device->Start(); !s.ok()) return fail(s.error());
  uapi::Server server(std::move(listener), socket_path, *device);
  unlink_socket.Cancel();  // Server::Stop unlinks it from now on
  if (Status s = server.Start(); !s.ok()) return fail(s.error());

  // Watch the socket file: removing it stops the daemon (wireguard-go does the same).
  UniqueFd inotify_fd = MakeFd(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  struct stat socket_stat {};
  ::stat(socket_path.c_str(), &socket_stat);
  ::inotify_add_watch(inotify_fd.get(), socket_path.c_str(),
                      IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF);
  // Link events: follow `ip link set mtu`, and stop when the interface is deleted.
  auto monitor = netlink::LinkMonitor::Open();
  if (!monitor.ok()) return fail(monitor.error());

  TUNDRA_LOG(kInfo, "device {} up: UDP port {}, UAPI {}", name, device->GetStatus().listen_port,
             socket_path);
  ready.Report("0");

  std::string reason;
  pollfd fds[4] = {{signal_fd.get(), POLLIN, 0},
                   {tun_gone_fd.get(), POLLIN, 0},
                   {inotify_fd.get(), POLLIN, 0},
                   {monitor->fd(), POLLIN, 0}};
  while (reason.empty()) {
    if (::poll(fds, 4, -1) < 0) {
      if (errno == EINTR) continue;
      reason = fmt::format("poll: {}", std::strerror(errno));
      break;
    }
    if (fds[0].revents) {
      signalfd_siginfo si;
      if (::read(signal_fd.get(), &si, sizeof(si)) == sizeof(si)) {
        reason = fmt::format("received {}", strsignal(int(si.ssi_signo)));
      }
    }
    if (fds[1].revents) reason = "the interface was deleted";
    if (fds[2].revents) {
      char buf[4096];
      while (::read(inotify_fd.get(), buf, sizeof(buf)) > 0) {
      }
      struct stat now {};
      if (::stat(socket_path.c_str(), &now) != 0 || now.st_ino != socket_stat.st_ino) {
        server.DisownPath();
        reason = "the UAPI socket was removed";
      }
    }
    if (fds[3].revents) {
      auto events = monitor->Poll();
      for (const netlink::LinkEvent& e :
           events.ok() ? *events : std::vector<netlink::LinkEvent>{}) {
        if (e.index != ifindex) continue;
        if (e.deleted && e.moved) {
          // Moved to another namespace (as netns.sh does): the TUN keeps working there and
          // the daemon stays with its socket; its link events are followed over there. (A
          // deletion there also shows up as a failing TUN read.)
          auto moved = MonitorWhereTheDeviceIs(*tun_raw);
          if (moved.ok()) {
            TUNDRA_LOG(kInfo, "the interface moved to another network namespace (ifindex {} there)",
                       moved->ifindex);
            ifindex = moved->ifindex;
            monitor = std::move(moved->monitor);
            fds[3].fd = monitor->fd();
            if (const netlink::LinkInfo* l = monitor->Find(ifindex);
                l != nullptr && l->mtu != device->mtu()) {
              TUNDRA_LOG(kInfo, "MTU changed to {}", l->mtu);
              device->SetMtu(l->mtu);
            }
            break;  // the events left belong to the old namespace
          }
          TUNDRA_LOG(kInfo, "the interface moved to another network namespace ({})",
                     moved.error().message());
        } else if (e.deleted) {
          reason = "the interface was deleted";
        } else if (e.mtu != 0 && e.mtu != device->mtu()) {
          TUNDRA_LOG(kInfo, "MTU changed to {}", e.mtu);
          device->SetMtu(e.mtu);
        }
      }
    }
  }
  TUNDRA_LOG(kInfo, "shutting down: {}", reason);
  server.Stop();
  device->Close();
  return 0;
}

}  // namespace tundra::cli
