#include "tundra/tun/manage.h"

#include <fmt/core.h>
#include <grp.h>
#include <linux/if_tun.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace tundra::tun {
namespace {

template <typename T>
std::optional<T> ParseNumber(std::string_view text, int base = 10) {
  T value{};
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value, base);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

// "-1" (INVALID_UID) -> nullopt.
template <typename T>
std::optional<T> ParseOwner(const Result<std::string>& text) {
  if (!text.ok() || *text == "-1") return std::nullopt;
  return ParseNumber<T>(*text);
}

size_t PwBufferSize(int which) {
  const long n = sysconf(which);
  return n > 0 ? size_t(n) : size_t(16384);
}

}  // namespace

Result<TunDeviceInfo> GetTunDevice(std::string_view name, std::string_view sysfs_root) {
  TUNDRA_RETURN_IF_ERROR(ValidateInterfaceName(name));
  if (!NetDeviceExists(sysfs_root, name)) {
    return MakeError(ENODEV, fmt::format("{}: no such network device", name));
  }
  auto flags_text = ReadNetAttr(sysfs_root, name, "tun_flags");
  if (!flags_text.ok()) {
    return MakeError(EINVAL, fmt::format("{} is not a TUN/TAP device", name));
  }
  std::string_view hex = *flags_text;
  if (hex.substr(0, 2) == "0x") hex.remove_prefix(2);
  const auto flags = ParseNumber<uint32_t>(hex, 16);
  if (!flags) {
    return MakeError(EINVAL, fmt::format("{}: unreadable tun_flags '{}'", name, *flags_text));
  }
  TunDeviceInfo info;
  info.name = std::string(name);
  info.tun_flags = *flags;
  info.mode = (*flags & IFF_TAP) != 0 ? TunMode::kTap : TunMode::kTun;
  info.persist = (*flags & IFF_PERSIST) != 0;
  info.multi_queue = (*flags & IFF_MULTI_QUEUE) != 0;
  info.no_pi = (*flags & IFF_NO_PI) != 0;
  info.vnet_hdr = (*flags & IFF_VNET_HDR) != 0;
  info.owner = ParseOwner<uid_t>(ReadNetAttr(sysfs_root, name, "owner"));
  info.group = ParseOwner<gid_t>(ReadNetAttr(sysfs_root, name, "group"));
  if (auto v = ReadNetAttr(sysfs_root, name, "ifindex"); v.ok()) {
    info.ifindex = ParseNumber<int>(*v).value_or(0);
  }
  if (auto v = ReadNetAttr(sysfs_root, name, "mtu"); v.ok()) {
    info.mtu = ParseNumber<int>(*v).value_or(0);
  }
  if (auto v = ReadNetAttr(sysfs_root, name, "operstate"); v.ok()) info.operstate = *v;
  return info;
}

Result<std::vector<TunDeviceInfo>> ListTunDevices(std::string_view sysfs_root) {
  std::error_code ec;
  std::filesystem::directory_iterator it(std::filesystem::path(sysfs_root), ec);
  if (ec) return ErrnoError(fmt::format("opendir({})", sysfs_root), ec.value());
  std::vector<std::string> names;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) return ErrnoError(fmt::format("readdir({})", sysfs_root), ec.value());
    names.push_back(it->path().filename().string());
  }
  std::sort(names.begin(), names.end());
  std::vector<TunDeviceInfo> out;
  for (const std::string& name : names) {
    if (!ReadNetAttr(sysfs_root, name, "tun_flags").ok()) continue;  // not TUN/TAP, or gone
    auto info = GetTunDevice(name, sysfs_root);
    if (info.ok()) out.push_back(std::move(info).value());
  }
  return out;
}

std::string FormatTunFlags(const TunDeviceInfo& info) {
  std::string out;
  auto add = [&out](bool on, const char* word) {
    if (!on) return;
    if (!out.empty()) out += ' ';
    out += word;
  };
  add(info.persist, "persist");
  add(info.multi_queue, "multi_queue");
  add(info.no_pi, "no_pi");
  add(info.vnet_hdr, "vnet_hdr");
  return out;
}

std::string FormatTunSummary(const TunDeviceInfo& info) {
  std::string out = fmt::format("{}: {}", info.name, TunModeName(info.mode));
  const std::string flags = FormatTunFlags(info);
  if (!flags.empty()) out += " " + flags;
  if (info.owner) out += fmt::format(" user {}", *info.owner);
  if (info.group) out += fmt::format(" group {}", *info.group);
  return out;
}

Result<uid_t> ResolveUser(std::string_view user) {
  if (auto id = ParseNumber<uid_t>(user)) return *id;
  if (user.empty()) return InvalidArgument("empty user name");
  const std::string name(user);
  std::vector<char> buf(PwBufferSize(_SC_GETPW_R_SIZE_MAX));
  for (;;) {
    struct passwd pw;
    struct passwd* found = nullptr;
    const int err = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
    if (err == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (err != 0) return ErrnoError(fmt::format("getpwnam_r({})", name), err);
    if (found == nullptr) return MakeError(ENOENT, fmt::format("unknown user '{}'", name));
    return found->pw_uid;
  }
}

Result<gid_t> ResolveGroup(std::string_view group) {
  if (auto id = ParseNumber<gid_t>(group)) return *id;
  if (group.empty()) return InvalidArgument("empty group name");
  const std::string name(group);
  std::vector<char> buf(PwBufferSize(_SC_GETGR_R_SIZE_MAX));
  for (;;) {
    struct group gr;
    struct group* found = nullptr;
    const int err = getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found);
    if (err == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (err != 0) return ErrnoError(fmt::format("getgrnam_r({})", name), err);
    if (found == nullptr) return MakeError(ENOENT, fmt::format("unknown group '{}'", name));
    return found->gr_gid;
  }
}

Result<std::string> AddPersistentDevice(TunOptions options, KernelInterface& kernel) {
  options.exclusive = true;
  options.persist = true;
  TUNDRA_ASSIGN_OR_RETURN(std::unique_ptr<LinuxTun> tun, LinuxTun::Open(options, kernel));
  return tun->name();  // closing the fd leaves the (persistent) device in place
}

Status DeletePersistentDevice(std::string_view name, KernelInterface& kernel,
                              std::string_view sysfs_root, std::string_view clone_device) {
  TUNDRA_ASSIGN_OR_RETURN(TunDeviceInfo info, GetTunDevice(name, sysfs_root));
  if (!info.persist) {
    return MakeError(EBUSY, fmt::format("{} is not persistent: it belongs to the process that "
                                        "has it open and goes away when that process closes it",
                                        name));
  }
  TunOptions options;
  options.name = info.name;
  options.mode = info.mode;
  options.multi_queue = info.multi_queue;
  options.no_pi = info.no_pi;
  options.vnet_hdr = info.vnet_hdr;
  options.clone_device = std::string(clone_device);
  options.sysfs_root = std::string(sysfs_root);
  TUNDRA_ASSIGN_OR_RETURN(std::unique_ptr<LinuxTun> tun, LinuxTun::Open(options, kernel));
  TUNDRA_RETURN_IF_ERROR(tun->SetPersist(false));
  tun.reset();  // the last queue closes: the kernel unregisters the device
  return OkStatus();
}

}  // namespace tundra::tun
