#include "tundra/uapi/client.h"

#include <fmt/core.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "tundra/base/syscall.h"
#include "tundra/base/unique_fd.h"
#include "tundra/uapi/protocol.h"

namespace tundra::uapi {
namespace {

// A reply larger than this is refused (a get=1 of the most peers a device holds fits).
constexpr size_t kMaxReplyBytes = 64 << 20;

Result<UniqueFd> Connect(const std::string& path) {
  int raw = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (raw < 0) return ErrnoError("socket(AF_UNIX)");
  UniqueFd fd(raw);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return InvalidArgument("socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (RetryOnEintr(::connect, raw, reinterpret_cast<sockaddr*>(&addr), socklen_t(sizeof(addr))) !=
      0) {
    return ErrnoError(fmt::format("connect({})", path));
  }
  return fd;
}

}  // namespace

Result<SecretString> Exchange(const std::string& path, std::string_view request) {
  TUNDRA_ASSIGN_OR_RETURN(UniqueFd fd, Connect(path));
  for (size_t done = 0; done < request.size();) {
    const ssize_t n =
        RetryOnEintr(::send, fd.get(), request.data() + done, request.size() - done, MSG_NOSIGNAL);
    if (n < 0) return ErrnoError(fmt::format("send({})", path));
    done += size_t(n);
  }
  SecretString reply;
  char buf[4096];
  while (reply.size() < 2 || reply.compare(reply.size() - 2, 2, "\n\n") != 0) {
    const ssize_t n = RetryOnEintr(::read, fd.get(), buf, sizeof(buf));
    if (n < 0) return ErrnoError(fmt::format("read({})", path));
    if (n == 0) {
      return MakeError(EPROTO, fmt::format("{}: the daemon closed the connection mid-reply", path));
    }
    reply.append(buf, size_t(n));
    SecureZero(buf, sizeof(buf));
    if (reply.size() > kMaxReplyBytes) {
      return MakeError(EMSGSIZE, fmt::format("{}: reply over {} bytes", path, kMaxReplyBytes));
    }
  }
  return reply;
}

Result<device::DeviceStatus> GetDevice(const std::string& path) {
  TUNDRA_ASSIGN_OR_RETURN(SecretString reply, Exchange(path, "get=1\n\n"));
  auto status = ParseGet(std::string_view(reply.data(), reply.size()));
  if (!status.ok()) return std::move(status).error().Wrap(path);
  return status;
}

Status SetDevice(const std::string& path, const device::DeviceUpdate& update) {
  const SecretString request = FormatSet(update);
  TUNDRA_ASSIGN_OR_RETURN(SecretString reply,
                          Exchange(path, std::string_view(request.data(), request.size())));
  const std::string_view r(reply.data(), reply.size());
  if (r == "errno=0\n\n") return OkStatus();
  const std::string_view value = r.substr(0, r.find('\n'));
  return MakeError(EPROTO, fmt::format("{}: set=1 answered {}", path, value.substr(0, 20)));
}

Result<pid_t> ServerPid(const std::string& path) {
  TUNDRA_ASSIGN_OR_RETURN(UniqueFd fd, Connect(path));
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return ErrnoError(fmt::format("getsockopt(SO_PEERCRED) {}", path));
  }
  return cred.pid;
}

}  // namespace tundra::uapi
