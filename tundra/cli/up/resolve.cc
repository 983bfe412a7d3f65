#include "tundra/cli/up/resolve.h"

#include <fmt/core.h>
#include <netdb.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "tundra/crypto/key_text.h"
#include "tundra/uapi/client.h"
#include "tundra/uapi/server.h"

namespace tundra::cli::up {

namespace {

int Lookup(const config::EndpointSpec& spec, transport::Endpoint& out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_protocol = IPPROTO_UDP;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(spec.port);
  const int rc = ::getaddrinfo(spec.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) return rc;
  out = transport::Endpoint::FromSockaddr(res->ai_addr, res->ai_addrlen);
  ::freeaddrinfo(res);
  return 0;
}

Error ResolveError(const config::EndpointSpec& spec, int rc) {
  return MakeError(EHOSTUNREACH, fmt::format("line {}: Endpoint '{}': cannot resolve: {}",
                                             spec.line, spec.host, ::gai_strerror(rc)));
}

bool Permanent(int rc) { return rc == EAI_NONAME || rc == EAI_FAIL || rc == EAI_NODATA; }

}  // namespace

Result<transport::Endpoint> ResolveEndpoint(const config::EndpointSpec& spec) {
  if (spec.numeric) return *spec.numeric;
  transport::Endpoint ep;
  if (const int rc = Lookup(spec, ep); rc != 0) return ResolveError(spec, rc);
  return ep;
}

Result<int> ResolveRetries(const char* env_value) {
  if (env_value == nullptr) return kDefaultResolveRetries;
  const std::string_view v(env_value);
  if (v == "infinity") return kResolveUnlimited;
  int n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size() || n < 0) {
    return InvalidArgument(
        fmt::format("{}='{}': not a number of retries or 'infinity'", kResolveRetriesEnv, v));
  }
  return n;
}

ResolveSeams SystemResolveSeams() {
  return {Lookup, [](std::chrono::milliseconds d) {
            const timespec ts{time_t(d.count() / 1000), long(d.count() % 1000) * 1000000};
            ::nanosleep(&ts, nullptr);
          }};
}

Result<transport::Endpoint> ResolveEndpointRetrying(const config::EndpointSpec& spec, int retries,
                                                    const ResolveSeams& seams) {
  if (spec.numeric) return *spec.numeric;
  std::chrono::milliseconds wait = kResolveFirstWait;
  for (int left = retries;; wait = std::min(kResolveMaxWait, wait * 6 / 5)) {
    transport::Endpoint ep;
    const int rc = seams.lookup(spec, ep);
    if (rc == 0) return ep;
    if (Permanent(rc) || left == 0) return ResolveError(spec, rc);
    if (left > 0) --left;
    fmt::print(stderr, "[#] line {}: Endpoint '{}': {}; trying again in {:.1f} s\n", spec.line,
               spec.host, ::gai_strerror(rc), double(wait.count()) / 1000);
    seams.wait(wait);
  }
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
