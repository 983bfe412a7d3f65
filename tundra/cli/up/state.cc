#include "tundra/cli/up/state.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>

#include "tundra/base/unique_fd.h"

namespace tundra::cli::up {
namespace {

constexpr int kStateVersion = 1;

std::vector<std::string_view> Words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

template <typename T>
bool Number(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

std::string FormatRule(const netlink::Rule& r) {
  std::string s = r.family == AF_INET6 ? "-6" : "-4";
  if (r.invert) s += " not";
  if (r.fwmark) s += fmt::format(" fwmark {}", *r.fwmark);
  s += fmt::format(" table {}", r.table);
  if (r.suppress_prefixlength)
    s += fmt::format(" suppress_prefixlength {}", *r.suppress_prefixlength);
  return s;
}

bool ParseRule(const std::vector<std::string_view>& w, netlink::Rule& r) {
  if (w.size() < 2) return false;
  if (w[1] == "-4") {
    r.family = AF_INET;
  } else if (w[1] == "-6") {
    r.family = AF_INET6;
  } else {
    return false;
  }
  bool has_table = false;
  for (size_t i = 2; i < w.size(); ++i) {
    if (w[i] == "not") {
      r.invert = true;
    } else if (i + 1 < w.size() && w[i] == "fwmark") {
      uint32_t v;
      if (!Number(w[++i], v)) return false;
      r.fwmark = v;
    } else if (i + 1 < w.size() && w[i] == "table") {
      if (!Number(w[++i], r.table)) return false;
      has_table = true;
    } else if (i + 1 < w.size() && w[i] == "suppress_prefixlength") {
      uint32_t v;
      if (!Number(w[++i], v)) return false;
      r.suppress_prefixlength = v;
    } else {
      return false;
    }
  }
  return has_table;
}

}  // namespace

std::string StatePath(std::string_view ifname, std::string_view dir) {
  return fmt::format("{}/{}.state", dir, ifname);
}

std::string LogPath(std::string_view ifname, std::string_view dir) {
  return fmt::format("{}/{}.log", dir, ifname);
}

std::string FormatState(const UpState& s) {
  std::string out = "# tundra up state (read by tundra down); no keys\n";
  out += fmt::format("version {}\n", kStateVersion);
  out += fmt::format("interface {}\n", s.ifname);
  out += fmt::format("config {}\n", s.config_path);
  if (s.daemon.pid) out += fmt::format("daemon {} {}\n", s.daemon.pid, s.daemon.start_time);
  if (s.resolver.pid) out += fmt::format("resolver {} {}\n", s.resolver.pid, s.resolver.start_time);
  if (s.fwmark) out += fmt::format("fwmark {}\n", *s.fwmark);
  if (s.dns) out += "dns\n";
  for (const PlannedRoute& r : s.routes) {
    out += fmt::format("route {} table {}\n", r.prefix.ToString(), r.table);
  }
  for (const netlink::Rule& r : s.rules) out += "rule " + FormatRule(r) + "\n";
  return out;
}

Result<UpState> ParseState(std::string_view text, std::string_view where) {
  UpState s;
  size_t line_number = 0;
  bool version = false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_number;
    if (line.empty() || line[0] == '#') continue;
    auto bad = [&] {
      return InvalidArgument(fmt::format("{}:{}: not a tundra state line", where, line_number));
    };
    const std::vector<std::string_view> w = Words(line);
    const std::string_view key = w[0];
    if (key == "version") {
      int v = 0;
      if (w.size() != 2 || !Number(w[1], v)) return bad();
      if (v != kStateVersion) {
        return InvalidArgument(fmt::format("{}:{}: state version {} (this tundra writes {})", where,
                                           line_number, v, kStateVersion));
      }
      version = true;
    } else if (key == "interface" && w.size() == 2) {
      s.ifname = std::string(w[1]);
    } else if (key == "config" && line.size() > 7) {
      s.config_path = std::string(line.substr(7));  // the rest of the line: a path may hold spaces
    } else if ((key == "daemon" || key == "resolver") && w.size() == 3) {
      ProcessRef& ref = key == "daemon" ? s.daemon : s.resolver;
      if (!Number(w[1], ref.pid) || !Number(w[2], ref.start_time)) return bad();
    } else if (key == "fwmark" && w.size() == 2) {
      uint32_t v;
      if (!Number(w[1], v)) return bad();
      s.fwmark = v;
    } else if (key == "dns" && w.size() == 1) {
      s.dns = true;
    } else if (key == "route" && w.size() == 4 && w[2] == "table") {
      auto prefix = routing::IpPrefix::Parse(w[1]);
      PlannedRoute r;
      if (!prefix.ok() || !Number(w[3], r.table)) return bad();
      r.prefix = *prefix;
      s.routes.push_back(r);
    } else if (key == "rule") {
      netlink::Rule r;
      if (!ParseRule(w, r)) return bad();
      s.rules.push_back(r);
    } else {
      return bad();
    }
  }
  if (!version || s.ifname.empty()) {
    return InvalidArgument(
        fmt::format("{}: not a tundra state file (no version or interface)", where));
  }
  return s;
}

Status WriteState(const UpState& state, std::string_view dir) {
  const std::string d(dir);
  if (::mkdir(d.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoError("mkdir " + d);
  const std::string path = StatePath(state.ifname, dir);
  const std::string tmp = path + ".tmp";
  const std::string text = FormatState(state);
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd.valid()) return ErrnoError("open " + tmp);
    if (::fchmod(fd.get(), 0600) != 0) return ErrnoError("fchmod " + tmp);
    for (size_t done = 0; done < text.size();) {
      const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError("write " + tmp);
      done += size_t(n);
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoError("rename " + tmp);
  return OkStatus();
}

Result<UpState> ReadState(std::string_view ifname, std::string_view dir) {
  const std::string path = StatePath(ifname, dir);
  std::ifstream in(path);
  if (!in) return ErrnoError("open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseState(ss.str(), path);
}

Status RemoveState(std::string_view ifname, std::string_view dir) {
  const std::string path = StatePath(ifname, dir);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoError("unlink " + path);
  return OkStatus();
}

Result<ProcessRef> RefOf(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  if (!in) return ErrnoError(fmt::format("open /proc/{}/stat", pid));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // After "pid (comm) ": state is field 3, starttime field 22. comm may hold spaces or ')'.
  const size_t close = text.rfind(')');
  if (close == std::string::npos)
    return InvalidArgument(fmt::format("/proc/{}/stat: unreadable", pid));
  const std::vector<std::string_view> w = Words(std::string_view(text).substr(close + 1));
  ProcessRef ref;
  ref.pid = pid;
  if (w.size() < 20 || !Number(w[19], ref.start_time)) {
    return InvalidArgument(fmt::format("/proc/{}/stat: unreadable", pid));
  }
  if (w[0] == "Z" || w[0] == "X")
    return MakeError(ESRCH, fmt::format("process {} has exited", pid));
  return ref;
}

bool IsRunning(const ProcessRef& ref) {
  if (ref.pid <= 0) return false;
  auto now = RefOf(ref.pid);
  return now.ok() && now->start_time == ref.start_time;
}

}  // namespace tundra::cli::up
