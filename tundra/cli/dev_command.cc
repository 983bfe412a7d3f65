// tundra dev add|del|list|show: persistent TUN/TAP devices (what `ip tuntap` does).
//
// Every failure prints one line naming the device and the cause and exits non-zero; `dev add`
// sets owner and group before TUNSETPERSIST, so a failure leaves no device behind.
#include <fmt/core.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "tundra/cli/args.h"
#include "tundra/cli/commands.h"
#include "tundra/tun/manage.h"
#include "tundra/tun/tun_linux.h"

namespace tundra::cli {
namespace {

constexpr char kDevUsage[] =
    "Usage: tundra dev COMMAND ...\n\n"
    "Manage persistent TUN/TAP devices.\n\n"
    "Commands:\n"
    "  add NAME [--mode tun|tap] [--multi-queue] [--owner USER] [--group GROUP] [--no-pi]\n"
    "           [--vnet-hdr]     create a persistent device (NAME may be a template: tun%d)\n"
    "  del NAME                  delete a persistent device\n"
    "  list                      list TUN/TAP devices (like 'ip tuntap show')\n"
    "  show NAME                 show one device: mode, flags, owner, group, ifindex, mtu\n\n"
    "Run 'tundra dev COMMAND --help' for a command's options.\n";

// Adds the likely cause to a permission error (the kernel only says EPERM/EACCES).
Error Explain(const Error& error) {
  if (!error.detail().empty()) return error;
  if (error.code() == EPERM) {
    return Error(EPERM, error.context(),
                 std::string(std::strerror(EPERM)) +
                     " (needs CAP_NET_ADMIN, or being the device's owner or group)");
  }
  return error;
}

int Fail(const Error& error, std::string_view what) {
  return ReportError(Explain(error).Wrap(what), kExitFailure);
}

// "dev add: tap0 exists ..." when the message names the device, else "dev add tap0: ...".
int FailFor(const Error& error, std::string_view command, const std::string& name) {
  const bool named = error.message().find(name) != std::string::npos;
  return Fail(error, named ? std::string(command) : std::string(command) + " " + name);
}

// Parses `args` with `parser`; prints usage (help) or the error. Returns nullopt when the
// command should exit with *exit_code.
std::optional<ParsedArgs> ParseOrExit(const ArgParser& parser, CommandArgs args, size_t min,
                                      size_t max, int* exit_code) {
  auto parsed = parser.Parse(args, min, max);
  if (!parsed.ok()) {
    *exit_code = ReportError(parsed.error(), kExitUsage);
    return std::nullopt;
  }
  if (parsed->help_requested()) {
    fmt::print("{}", parser.Usage());
    *exit_code = kExitOk;
    return std::nullopt;
  }
  return std::move(parsed).value();
}

std::string UserName(uid_t uid) {
  std::vector<char> buf(16384);
  struct passwd pw;
  struct passwd* found = nullptr;
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
    return fmt::format("{} ({})", uid, found->pw_name);
  }
  return std::to_string(uid);
}

std::string GroupName(gid_t gid) {
  std::vector<char> buf(16384);
  struct group gr;
  struct group* found = nullptr;
  if (getgrgid_r(gid, &gr, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
    return fmt::format("{} ({})", gid, found->gr_name);
  }
  return std::to_string(gid);
}

int DevAdd(CommandArgs args) {
  ArgParser p("tundra dev add", "NAME",
              "Create a persistent TUN/TAP device. NAME may be a template such as tun%d; the\n"
              "real name is then printed. Owner and group are set before the device is made\n"
              "persistent, so a failure leaves nothing behind.");
  p.Option("mode", "MODE", "tun (default) or tap")
      .Flag("multi-queue", "IFF_MULTI_QUEUE: allow several queues (fds)")
      .Option("owner", "USER", "user (name or uid) allowed to attach without CAP_NET_ADMIN")
      .Option("group", "GROUP", "group (name or gid) allowed to attach without CAP_NET_ADMIN")
      .Flag("no-pi", "IFF_NO_PI: no 4-byte packet-information header")
      .Flag("vnet-hdr", "IFF_VNET_HDR: virtio-net header on each packet");
  int exit_code = kExitOk;
  auto a = ParseOrExit(p, args, 1, 1, &exit_code);
  if (!a) return exit_code;
  const std::string& name = a->positional()[0];
  const std::string what = "dev add " + name;

  tun::TunOptions options;
  options.name = name;
  if (auto mode = a->Get("mode")) {
    auto parsed = tun::ParseTunMode(*mode);
    if (!parsed.ok()) return ReportError(parsed.error().Wrap(what), kExitUsage);
    options.mode = *parsed;
  }
  options.multi_queue = a->Has("multi-queue");
  options.no_pi = a->Has("no-pi");
  options.vnet_hdr = a->Has("vnet-hdr");
  if (auto v = tun::ValidateInterfaceName(name); !v.ok()) return Fail(v.error(), "dev add");
  if (auto user = a->Get("owner")) {
    auto uid = tun::ResolveUser(*user);
    if (!uid.ok()) return Fail(uid.error(), what);
    options.owner = *uid;
  }
  if (auto group = a->Get("group")) {
    auto gid = tun::ResolveGroup(*group);
    if (!gid.ok()) return Fail(gid.error(), what);
    options.group = *gid;
  }
  auto real = tun::AddPersistentDevice(options);
  if (!real.ok()) return FailFor(real.error(), "dev add", name);
  if (name.find('%') != std::string::npos) fmt::print("{}\n", *real);
  return kExitOk;
}

int DevDel(CommandArgs args) {
  ArgParser p("tundra dev del", "NAME",
              "Delete a persistent TUN/TAP device (attach, clear IFF_PERSIST, close).");
  int exit_code = kExitOk;
  auto a = ParseOrExit(p, args, 1, 1, &exit_code);
  if (!a) return exit_code;
  Status st = tun::DeletePersistentDevice(a->positional()[0]);
  if (!st.ok()) return FailFor(st.error(), "dev del", a->positional()[0]);
  return kExitOk;
}

int DevList(CommandArgs args) {
  ArgParser p("tundra dev list", "",
              "List the TUN/TAP devices of this network namespace, one per line:\n"
              "NAME: MODE [persist] [multi_queue] [no_pi] [vnet_hdr] [user UID] [group GID]");
  int exit_code = kExitOk;
  auto a = ParseOrExit(p, args, 0, 0, &exit_code);
  if (!a) return exit_code;
  auto list = tun::ListTunDevices();
  if (!list.ok()) return Fail(list.error(), "dev list");
  for (const tun::TunDeviceInfo& info : *list) fmt::print("{}\n", tun::FormatTunSummary(info));
  return kExitOk;
}

int DevShow(CommandArgs args) {
  ArgParser p("tundra dev show", "NAME", "Show one TUN/TAP device.");
  int exit_code = kExitOk;
  auto a = ParseOrExit(p, args, 1, 1, &exit_code);
  if (!a) return exit_code;
  auto info = tun::GetTunDevice(a->positional()[0]);
  if (!info.ok()) return Fail(info.error(), "dev show");
  const std::string flags = tun::FormatTunFlags(*info);
  fmt::print(
      "{}: {}\n"
      "  flags:     {}\n"
      "  owner:     {}\n"
      "  group:     {}\n"
      "  ifindex:   {}\n"
      "  mtu:       {}\n"
      "  operstate: {}\n",
      info->name, tun::TunModeName(info->mode), flags.empty() ? "-" : flags,
      info->owner ? UserName(*info->owner) : "-", info->group ? GroupName(*info->group) : "-",
      info->ifindex, info->mtu, info->operstate);
  return kExitOk;
}

}  // namespace

int RunDev(CommandArgs args) {
  if (args.empty()) {
    fmt::print(stderr, "{}", kDevUsage);
    return kExitUsage;
  }
  const std::string& sub = args[0];
  if (sub == "-h" || sub == "--help" || sub == "help") {
    fmt::print("{}", kDevUsage);
    return kExitOk;
  }
  const CommandArgs rest = args.subspan(1);
  if (sub == "add") return DevAdd(rest);
  if (sub == "del" || sub == "delete") return DevDel(rest);
  if (sub == "list" || (sub == "show" && rest.empty())) return DevList(rest);
  if (sub == "show") return DevShow(rest);
  fmt::print(stderr, "tundra: dev: unknown command '{}' (see 'tundra dev --help')\n", sub);
  return kExitUsage;
}

}  // namespace tundra::cli
