#include "tundra/cli/up/resolve.h"

#include <fmt/core.h>
#include <netdb.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "tundra/crypto/key_text.h"
#include "tundra/uapi/client.h"
#include "tundra/uapi/server.h"

namespace tundra::cli::up {

Result<transport::Endpoint> ResolveEndpoint(const config::EndpointSpec& spec) {
  if (spec.numeric) return *spec.numeric;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_protocol = IPPROTO_UDP;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(spec.port);
  const int rc = ::getaddrinfo(spec.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) {
    return MakeError(EHOSTUNREACH, fmt::format("line {}: Endpoint '{}': cannot resolve: {}",
                                               spec.line, spec.host, ::gai_strerror(rc)));
  }
  transport::Endpoint ep = transport::Endpoint::FromSockaddr(res->ai_addr, res->ai_addrlen);
  ::freeaddrinfo(res);
  return ep;
}

std::chrono::seconds ReresolveAfter() {
  const char* v = std::getenv(kReresolveAfterEnv);
  if (v != nullptr) {
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    if (end != v && *end == '\0' && n > 0) return std::chrono::seconds(n);
  }
  return kReresolveAfter;
}

void RunResolver(const std::string& ifname, const std::vector<ResolveTarget>& targets,
                 std::chrono::seconds after) {
  const std::string path = uapi::SocketPath(ifname);
  const auto interval = std::min<std::chrono::seconds>(kResolveCheckInterval, after);
  for (;;) {
    const timespec ts{time_t(interval.count()), 0};
    ::nanosleep(&ts, nullptr);
    auto status = uapi::GetDevice(path);
    if (!status.ok()) {
      const int code = status.error().code();
      if (code == ENOENT || code == ECONNREFUSED) ::_exit(0);  // the daemon is gone
      fmt::print(stderr, "tundra resolver {}: {}\n", ifname, status.error().message());
      continue;
    }
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    for (const ResolveTarget& t : targets) {
      const auto peer = std::find_if(status->peers.begin(), status->peers.end(),
                                     [&](const auto& p) { return p.public_key == t.peer; });
      if (peer == status->peers.end()) continue;
      const int64_t last = peer->last_handshake.sec;
      if (last != 0 && now.tv_sec - last < after.count()) continue;
      auto ep = ResolveEndpoint(t.spec);
      if (!ep.ok()) {
        fmt::print(stderr, "tundra resolver {}: {}\n", ifname, ep.error().message());
        continue;
      }
      if (peer->endpoint && *peer->endpoint == *ep) continue;
      device::DeviceUpdate u;
      device::PeerUpdate p;
      p.public_key = t.peer;
      p.update_only = true;
      p.endpoint = *ep;
      u.peers.push_back(p);
      Status s = uapi::SetDevice(path, u);
      fmt::print(stderr, "tundra resolver {}: peer {} endpoint {} -> {}{}\n", ifname,
                 crypto::KeyToBase64(t.peer), t.spec.host, ep->ToString(),
                 s.ok() ? "" : ": " + s.error().message());
    }
  }
}

}  // namespace tundra::cli::up
