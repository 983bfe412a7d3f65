#include "tundra/cli/up/up.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "tundra/cli/hooks.h"
#include "tundra/cli/up/internal.h"
#include "tundra/cli/up/plan.h"
#include "tundra/cli/up/resolve.h"
#include "tundra/cli/up/state.h"
#include "tundra/crypto/key_text.h"
#include "tundra/netlink/address.h"
#include "tundra/netlink/link.h"
#include "tundra/netlink/route.h"
#include "tundra/uapi/client.h"
#include "tundra/uapi/server.h"

extern char** environ;

namespace tundra::cli::up {
namespace {

constexpr char kSrcValidMark[] = "/proc/sys/net/ipv4/conf/all/src_valid_mark";
constexpr char kResolvconf[] = "resolvconf";

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Runs argv (PATH search) with `input` on its stdin; the exit status as an error.
Status RunTool(const std::vector<std::string>& args, std::string_view input) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoError("pipe");
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  std::vector<char*> argv;
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, read_end.get(), STDIN_FILENO);
  pid_t pid;
  const int err = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) return ErrnoError(fmt::format("run {}", args[0]), err);
  read_end.reset();
  for (size_t done = 0; done < input.size();) {
    const ssize_t n = ::write(write_end.get(), input.data() + done, input.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    done += size_t(n);
  }
  write_end.reset();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return OkStatus();
  return MakeError(ECHILD, fmt::format("{} failed (status {:#x})", args[0], status));
}

bool InPath(const char* tool) {
  const char* path = std::getenv("PATH");
  std::string_view rest = path ? path : "/usr/sbin:/usr/bin:/sbin:/bin";
  while (!rest.empty()) {
    const size_t colon = rest.find(':');
    const std::string dir(rest.substr(0, colon));
    if (!dir.empty() && ::access((dir + "/" + tool).c_str(), X_OK) == 0) return true;
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return false;
}

// `tundra daemon -f --syslog IFNAME` (this binary) in its own session, its output (start-up
// errors; syslog once it is up) appended to LogPath(IFNAME); returns once the daemon serves
// its socket.
Result<ProcessRef> StartDaemon(const std::string& ifname, std::vector<std::string> options) {
  const std::string log = LogPath(ifname);
  if (::mkdir(kStateDir, 0755) != 0 && errno != EEXIST)
    return ErrnoError("mkdir " + std::string(kStateDir));
  std::string self = "/proc/self/exe";
  std::vector<std::string> words = {"tundra", "daemon", "-f", "--syslog"};
  words.insert(words.end(), options.begin(), options.end());
  words.push_back(ifname);
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid;
  const int err = ::posix_spawn(&pid, self.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (err != 0) return ErrnoError("run tundra daemon", err);
  TUNDRA_ASSIGN_OR_RETURN(ProcessRef ref, RefOf(pid));
  const std::string sock = uapi::SocketPath(ifname);
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + kDaemonStartWait;
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      std::ifstream in(log);
      std::string line, last;
      while (std::getline(in, line)) {
        if (!line.empty()) last = line;
      }
      return MakeError(ECHILD, fmt::format("tundra daemon {} exited at start ({}): {}", ifname,
                                           WIFEXITED(status) ? WEXITSTATUS(status) : -1, last));
    }
    if (uapi::ServerPid(sock).ok()) return ref;
    if (Clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return MakeError(ETIMEDOUT, fmt::format("tundra daemon {}: no UAPI socket after {} ms",
                                              ifname, kDaemonStartWait.count()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string DnsInput(const config::InterfaceConfig& in) {
  std::string text;
  for (const auto& d : in.dns_servers) text += "nameserver " + d.ToString() + "\n";
  if (!in.dns_search.empty()) {
    text += "search";
    for (const auto& s : in.dns_search) text += " " + s;
    text += "\n";
  }
  return text;
}

class Upper {
 public:
  Upper(netlink::NetlinkSocket& nl, config::TunnelConfig& config, UpState& state,
        const std::string& log_level)
      : nl_(nl), config_(config), state_(state), log_level_(log_level) {}

  Status Run();

 private:
  Status Save() { return WriteState(state_); }
  Status Mtu(const device::DeviceUpdate& update);
  Status Routes();
  Status Dns();
  Status StartResolver();

  netlink::NetlinkSocket& nl_;
  config::TunnelConfig& config_;
  UpState& state_;
  const std::string log_level_;
  int ifindex_ = 0;
};

Status Upper::Run() {
  const std::string& ifname = state_.ifname;
  TUNDRA_ASSIGN_OR_RETURN(device::DeviceUpdate update, FileUpdate(config_));
  TUNDRA_RETURN_IF_ERROR(Save());

  Step(fmt::format("tundra daemon -f --syslog {} (start-up errors: {})", ifname, LogPath(ifname)));
  std::vector<std::string> args = DaemonArgs(config_);
  if (!log_level_.empty()) args.insert(args.end(), {"--log-level", log_level_});
  TUNDRA_ASSIGN_OR_RETURN(state_.daemon, StartDaemon(ifname, std::move(args)));
  TUNDRA_RETURN_IF_ERROR(Save());
  TUNDRA_ASSIGN_OR_RETURN(ifindex_, netlink::LinkIndex(nl_, ifname));

  TUNDRA_RETURN_IF_ERROR(RunHooks("PreUp", config_.interface.pre_up, ifname));

  Step(fmt::format("set=1 {} (keys, {} peers) over {}", ifname, update.peers.size(),
                   uapi::SocketPath(ifname)));
  TUNDRA_RETURN_IF_ERROR(uapi::SetDevice(uapi::SocketPath(ifname), update));

  for (const routing::IpPrefix& a : config_.interface.addresses) {
    Step(fmt::format("address add {} dev {}", a.ToString(), ifname));
    TUNDRA_RETURN_IF_ERROR(netlink::AddAddress(nl_, ifindex_, a));
  }
  TUNDRA_RETURN_IF_ERROR(Mtu(update));
  TUNDRA_RETURN_IF_ERROR(Dns());
  TUNDRA_RETURN_IF_ERROR(Routes());
  TUNDRA_RETURN_IF_ERROR(RunHooks("PostUp", config_.interface.post_up, ifname));
  TUNDRA_RETURN_IF_ERROR(StartResolver());
  return OkStatus();
}

Status Upper::Mtu(const device::DeviceUpdate& update) {
  int mtu = 0;
  if (config_.interface.mtu) {
    mtu = *config_.interface.mtu;
  } else {
    // wg-quick: the lowest MTU of the routes to the endpoints (or of the default route).
    std::vector<int> path;
    auto link_mtu = [&](const netlink::Route& r) {
      if (r.mtu != 0) return int(r.mtu);
      if (r.oif == 0) return 0;
      auto link = netlink::GetLink(nl_, r.oif);
      return link.ok() ? link->mtu : 0;
    };
    for (const device::PeerUpdate& p : update.peers) {
      if (!p.endpoint) continue;
      const ByteSpan raw = p.endpoint->AddressBytes();
      const routing::IpAddress address = raw.size() == 16 ? routing::IpAddress::V6(raw.data())
                                                          : routing::IpAddress::V4(raw.data());
      auto r = netlink::GetRouteTo(nl_, address);
      if (r.ok()) path.push_back(link_mtu(*r));
    }
    if (path.empty()) {
      for (int family : {AF_INET, AF_INET6}) {
        auto routes = netlink::ListRoutes(nl_, family);
        if (!routes.ok()) continue;
        for (const auto& r : *routes) {
          if (r.dst.bits() == 0) path.push_back(link_mtu(r));
        }
      }
    }
    mtu = AutoMtu(path, config_.interface.tap);
  }
  Step(fmt::format("link set mtu {} up dev {}", mtu, state_.ifname));
  TUNDRA_RETURN_IF_ERROR(netlink::SetLinkMtu(nl_, ifindex_, mtu));
  return netlink::SetLinkUp(nl_, ifindex_, true);
}

Status Upper::Dns() {
  const config::InterfaceConfig& in = config_.interface;
  if (in.dns_servers.empty() && in.dns_search.empty()) return OkStatus();
  if (!InPath(kResolvconf)) {
    Warn(
        fmt::format("DNS for {} not set: no resolvconf in PATH (install resolvconf or "
                    "openresolv, or remove DNS = from the config)",
                    state_.ifname));
    return OkStatus();
  }
  Step(fmt::format("resolvconf -a {} -m 0 -x", state_.ifname));
  TUNDRA_RETURN_IF_ERROR(
      RunTool({kResolvconf, "-a", state_.ifname, "-m", "0", "-x"}, DnsInput(in)));
  state_.dns = true;
  return Save();
}

Status Upper::Routes() {
  RouteContext ctx;
  for (int family : {AF_INET, AF_INET6}) {
    TUNDRA_ASSIGN_OR_RETURN(auto routes, netlink::ListRoutes(nl_, family));
    for (const auto& r : routes) {
      if (r.oif == ifindex_) ctx.on_interface.push_back(r.dst);
    }
  }
  ctx.table_in_use = [this](uint32_t table) {
    for (int family : {AF_INET, AF_INET6}) {
      auto routes = netlink::ListRoutes(nl_, family, table);
      if (routes.ok() && !routes->empty()) return true;
    }
    return false;
  };
  const RoutePlan plan = PlanRoutes(config_, ctx);
  if (plan.fwmark) {
    Step(fmt::format("set=1 {} fwmark={}", state_.ifname, *plan.fwmark));
    device::DeviceUpdate mark;
    mark.fwmark = plan.fwmark;
    TUNDRA_RETURN_IF_ERROR(uapi::SetDevice(uapi::SocketPath(state_.ifname), mark));
    state_.fwmark = plan.fwmark;
    TUNDRA_RETURN_IF_ERROR(Save());
  }
  // wg-quick's order: for each /0 its two rules, then its route.
  for (const netlink::Rule& rule : plan.rules) {
    std::string text = rule.family == AF_INET6 ? "rule add -6" : "rule add -4";
    if (rule.invert) text += " not";
    if (rule.fwmark) text += fmt::format(" fwmark {}", *rule.fwmark);
    text += fmt::format(" table {}", rule.table);
    if (rule.suppress_prefixlength) {
      text += fmt::format(" suppress_prefixlength {}", *rule.suppress_prefixlength);
    }
    Step(text);
    TUNDRA_RETURN_IF_ERROR(netlink::AddRule(nl_, rule));
    state_.rules.push_back(rule);
    TUNDRA_RETURN_IF_ERROR(Save());
  }
  for (const PlannedRoute& r : plan.routes) {
    Step(fmt::format("route add {} dev {} table {}", r.prefix.ToString(), state_.ifname, r.table));
    netlink::Route route;
    route.dst = r.prefix;
    route.oif = ifindex_;
    route.table = r.table;
    TUNDRA_RETURN_IF_ERROR(netlink::AddRoute(nl_, route));
    state_.routes.push_back(r);
    TUNDRA_RETURN_IF_ERROR(Save());
  }
  if (plan.ipv4_default) {
    std::ofstream out(kSrcValidMark);
    out << "1\n";
    if (!out.flush()) Warn(fmt::format("could not write 1 to {}", kSrcValidMark));
  }
  return OkStatus();
}

Status Upper::StartResolver() {
  std::vector<ResolveTarget> targets;
  for (const config::PeerConfig& p : config_.peers) {
    if (p.endpoint && !p.endpoint->numeric) targets.push_back({p.public_key, *p.endpoint});
  }
  if (targets.empty()) return OkStatus();
  const std::chrono::seconds after = ReresolveAfter();
  Step(fmt::format("endpoint re-resolver for {} host name(s), after {} s without a handshake",
                   targets.size(), after.count()));
  const pid_t pid = ::fork();
  if (pid < 0) return ErrnoError("fork (endpoint re-resolver)");
  if (pid == 0) {
    // The child keeps only the names: the keys of its copy of the config are wiped.
    config_.interface.private_key.reset();
    for (auto& p : config_.peers) p.preshared_key.reset();
    ::setsid();
    const int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      ::dup2(null, STDIN_FILENO);
      ::dup2(null, STDOUT_FILENO);
      if (std::getenv("LOG_LEVEL") == nullptr) ::dup2(null, STDERR_FILENO);
    }
    RunResolver(state_.ifname, targets, after);
  }
  auto ref = RefOf(pid);
  state_.resolver = ref.ok() ? *ref : ProcessRef{pid, 0};
  return Save();
}

}  // namespace

void Step(std::string_view what) { fmt::print(stderr, "[#] {}\n", what); }
void Warn(std::string_view what) { fmt::print(stderr, "[!] {}\n", what); }

Status RunHooks(std::string_view kind, const std::vector<std::string>& lines,
                const std::string& ifname) {
  HookContext ctx;
  ctx.ifname = ifname;
  for (const std::string& line : lines) {
    Step(fmt::format("{}: {}", kind, SubstituteHook(line, ctx)));
    if (Status s = RunHook(line, ctx); !s.ok()) return std::move(s).error().Wrap(kind);
  }
  return OkStatus();
}

Result<std::string> InterfaceArg(const std::string& arg) {
  TUNDRA_ASSIGN_OR_RETURN(ConfigLocation loc,
                          LocateConfig(arg, [](const std::string&) { return true; }));
  return loc.ifname;
}

Result<device::DeviceUpdate> FileUpdate(const config::TunnelConfig& config) {
  TUNDRA_ASSIGN_OR_RETURN(const int retries, ResolveRetries(std::getenv(kResolveRetriesEnv)));
  const ResolveSeams seams = SystemResolveSeams();
  auto update = config::ToDeviceUpdate(config, [&](const config::EndpointSpec& spec) {
    auto ep = ResolveEndpointRetrying(spec, retries, seams);
    if (!ep.ok()) return Result<transport::Endpoint>(ep.error().Wrap(config.name));
    return ep;
  });
  return update;
}

Status Teardown(netlink::NetlinkSocket& nl, UpState& state) {
  std::optional<Error> first;
  auto note = [&](Status s) {
    if (!s.ok() && !first) first = std::move(s).error();
  };
  if (IsRunning(state.resolver)) {
    Step(fmt::format("stop the endpoint re-resolver (pid {})", state.resolver.pid));
    ::kill(state.resolver.pid, SIGTERM);
  }
  for (auto it = state.rules.rbegin(); it != state.rules.rend(); ++it) {
    Status s = netlink::DeleteRule(nl, *it);
    if (!s.ok() && s.error().code() != ENOENT) note(std::move(s));
  }
  if (state.daemon.pid != 0) {
    auto link = netlink::GetLink(nl, state.ifname);
    if (link.ok()) {
      Step(fmt::format("link delete dev {}", state.ifname));
      Status s = netlink::DeleteLink(nl, state.ifname);
      if (!s.ok() && s.error().code() != ENODEV) note(std::move(s));
    }
    // The daemon exits when its interface goes; a stuck one is signalled.
    using Clock = std::chrono::steady_clock;
    for (int sig : {0, SIGTERM, SIGKILL}) {
      if (sig != 0 && IsRunning(state.daemon)) {
        Warn(fmt::format("daemon pid {} still runs: signal {}", state.daemon.pid, sig));
        if (::kill(state.daemon.pid, sig) != 0 && errno != ESRCH) {  // ESRCH: it just exited
          note(ErrnoError(fmt::format("signal {} to daemon pid {}", sig, state.daemon.pid)));
          break;
        }
      }
      const auto deadline = Clock::now() + kDaemonExitWait;
      while (IsRunning(state.daemon) && Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (!IsRunning(state.daemon)) break;
    }
    // A daemon killed with SIGKILL leaves its socket file. While its threads
    // exit, /proc may already show the leader as a zombie and the listening
    // socket still accept: a socket served by our (dead or dying) daemon goes
    // too, one served by another process stays.
    const std::string sock = uapi::SocketPath(state.ifname);
    if (FileExists(sock) && !IsRunning(state.daemon)) {
      auto server = uapi::ServerPid(sock);
      if (!server.ok() || *server == state.daemon.pid) ::unlink(sock.c_str());
    }
  }
  if (state.dns) {
    Step(fmt::format("resolvconf -d {} -f", state.ifname));
    note(RunTool({kResolvconf, "-d", state.ifname, "-f"}, ""));
  }
  if (IsRunning(state.daemon)) {
    // Keep the state: a later `down` (with the privilege to signal it) finds the daemon.
    // Why it could not be stopped (a failed signal) is part of the message.
    return MakeError(EBUSY,
                     fmt::format("daemon pid {} still runs{}; state kept in {}", state.daemon.pid,
                                 first ? " (" + first->message() + ")" : std::string(),
                                 StatePath(state.ifname)));
  }
  if (state.daemon.pid != 0) ::unlink(LogPath(state.ifname).c_str());
  note(RemoveState(state.ifname));
  if (first) return *first;
  return OkStatus();
}

Status Up(const std::string& arg, const std::string& log_level) {
  TUNDRA_ASSIGN_OR_RETURN(ConfigLocation loc, LocateConfig(arg, FileExists));
  TUNDRA_ASSIGN_OR_RETURN(config::TunnelConfig config, config::LoadConfig(loc.path));
  TUNDRA_ASSIGN_OR_RETURN(netlink::NetlinkSocket nl, netlink::NetlinkSocket::Open());
  if (FileExists(StatePath(loc.ifname))) {
    // What a daemon that is gone (kill -9, a crash) left behind is removed, as `down` would;
    // a tunnel whose daemon runs, or whose interface exists, is up.
    auto old = ReadState(loc.ifname);
    if (!old.ok() || old->daemon.pid == 0 || IsRunning(old->daemon) ||
        netlink::GetLink(nl, loc.ifname).ok()) {
      return MakeError(EEXIST, fmt::format("{} is already up ({} exists; tundra down {} first)",
                                           loc.ifname, StatePath(loc.ifname), loc.ifname));
    }
    Warn(
        fmt::format("{} was left by daemon pid {}, which is gone: removing what it left first "
                    "(its PreDown/PostDown hooks do not run)",
                    StatePath(loc.ifname), old->daemon.pid));
    if (Status s = Teardown(nl, *old); !s.ok()) {
      return std::move(s).error().Wrap(fmt::format("up {}: the stale state", loc.ifname));
    }
  }
  if (netlink::GetLink(nl, loc.ifname).ok()) {
    return MakeError(EEXIST, fmt::format("{} already exists", loc.ifname));
  }
  UpState state;
  state.ifname = loc.ifname;
  // Absolute, so that `tundra down` finds it from any directory.
  char* real = ::realpath(loc.path.c_str(), nullptr);
  state.config_path = real != nullptr ? real : loc.path;
  std::free(real);
  Status s = Upper(nl, config, state, log_level).Run();
  if (s.ok()) return s;
  Warn(fmt::format("up {} failed; undoing what was done", loc.ifname));
  if (Status undo = Teardown(nl, state); !undo.ok()) Warn(undo.error().message());
  return std::move(s).error().Wrap(fmt::format("up {}", loc.ifname));
}

}  // namespace tundra::cli::up
