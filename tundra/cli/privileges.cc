#include "tundra/cli/privileges.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>
#include <vector>

#include "tundra/base/syscall.h"

namespace tundra::cli {
namespace {

// The one capability the daemon keeps.
constexpr int kKeptCapability = CAP_NET_ADMIN;

Status SetCapabilities(uint64_t effective, uint64_t permitted) {
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  __user_cap_data_struct data[2]{};
  data[0].effective = uint32_t(effective);
  data[1].effective = uint32_t(effective >> 32);
  data[0].permitted = uint32_t(permitted);
  data[1].permitted = uint32_t(permitted >> 32);
  if (::syscall(SYS_capset, &header, data) != 0) return ErrnoError("capset");
  return OkStatus();
}

Result<uint64_t> EffectiveCapabilities() {
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) != 0) return ErrnoError("capget");
  return uint64_t{data[0].effective} | uint64_t{data[1].effective} << 32;
}

// Cuts the bounding set to kKeptCapability. That takes CAP_SETPCAP; a service manager that
// already cut the bounding set without it (tundra@.service does) leaves us unable to, and
// then no-new-privileges makes the rest of the bounding set moot: no exec (a setuid-root
// program, file capabilities) can gain anything from it.
Status CutBoundingSet() {
  TUNDRA_ASSIGN_OR_RETURN(const uint64_t effective, EffectiveCapabilities());
  if ((effective & (uint64_t{1} << CAP_SETPCAP)) == 0) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
      return ErrnoError("prctl(PR_SET_NO_NEW_PRIVS)");
    return OkStatus();
  }
  for (int cap = 0; cap < 64; ++cap) {
    if (cap == kKeptCapability) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      if (errno == EINVAL) break;  // past CAP_LAST_CAP
      return ErrnoError(fmt::format("prctl(PR_CAPBSET_DROP, {})", cap));
    }
  }
  return OkStatus();
}

}  // namespace

Result<TargetUser> LookUpUser(std::string_view name_or_uid) {
  if (name_or_uid.empty()) return InvalidArgument("user: empty name");
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  const std::string name(name_or_uid);
  uint32_t uid = 0;
  auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), uid);
  const bool numeric = ec == std::errc() && ptr == name.data() + name.size();
  int r = numeric ? ::getpwuid_r(uid_t(uid), &pw, buf.data(), buf.size(), &found)
                  : ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
  if (r != 0) return ErrnoError(fmt::format("looking up user '{}'", name), r);
  if (found != nullptr) return TargetUser{pw.pw_name, pw.pw_uid, pw.pw_gid};
  if (numeric) return TargetUser{"", uid_t(uid), gid_t(uid)};
  return InvalidArgument(fmt::format("unknown user '{}'", name));
}

Status DropPrivileges(const TargetUser& user) {
  // Keep the permitted set across the uid change (it would be cleared), and cut the bounding
  // set while CAP_SETPCAP is still ours.
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return ErrnoError("prctl(PR_SET_KEEPCAPS)");
  TUNDRA_RETURN_IF_ERROR(CutBoundingSet());
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
    return ErrnoError("prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
  }
  const std::string who = user.name.empty() ? fmt::format("uid {}", user.uid) : user.name;
  if (!user.name.empty()) {
    if (::initgroups(user.name.c_str(), user.gid) != 0) {
      return ErrnoError(fmt::format("initgroups({})", who));
    }
  } else if (::setgroups(1, &user.gid) != 0) {
    return ErrnoError(fmt::format("setgroups({})", who));
  }
  if (::setresgid(user.gid, user.gid, user.gid) != 0) {
    return ErrnoError(fmt::format("setresgid({})", user.gid));
  }
  if (::setresuid(user.uid, user.uid, user.uid) != 0) {
    return ErrnoError(fmt::format("setresuid({})", user.uid));
  }
  const uint64_t kept = uint64_t{1} << kKeptCapability;
  TUNDRA_RETURN_IF_ERROR(SetCapabilities(kept, kept));
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return ErrnoError("prctl(PR_SET_KEEPCAPS, 0)");
  // The drop must be final.
  if (user.uid != 0 && (::setuid(0) == 0 || ::geteuid() == 0)) {
    return Error(EPERM, "DropPrivileges", "uid 0 could be regained after the drop");
  }
  return OkStatus();
}

Status MakeNotDumpable() {
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return ErrnoError("prctl(PR_SET_DUMPABLE, 0)");
  return OkStatus();
}

Result<UniqueFd> StartSocketJanitor(const std::string& socket_path) {
  struct stat st {};
  if (::stat(socket_path.c_str(), &st) != 0) return ErrnoError("stat(" + socket_path + ")");
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return ErrnoError("pipe2");
  UniqueFd read_end(p[0]), write_end(p[1]);
  const pid_t pid = ::fork();
  if (pid < 0) return ErrnoError("fork (socket janitor)");
  if (pid > 0) return write_end;
  // The child: nothing but the pipe's read end, as fd 3 (stdin/out/err are the daemon's, which
  // are /dev/null in the background). Only async-signal-safe calls from here.
  if (::dup2(read_end.get(), 3) != 3) ::_exit(1);
  ::close_range(4, ~0U, 0);
  char c;
  while (RetryOnEintr(::read, 3, &c, 1) > 0) {
  }
  struct stat now {};
  if (::stat(socket_path.c_str(), &now) == 0 && now.st_ino == st.st_ino &&
      now.st_dev == st.st_dev) {
    ::unlink(socket_path.c_str());
  }
  ::_exit(0);
}

}  // namespace tundra::cli
