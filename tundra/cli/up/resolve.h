// Endpoint host names: resolved with getaddrinfo at `up`, and again by a small process that
// `up` leaves running (one per interface, only when some Endpoint is a host name):
//
//   every min(kResolveCheckInterval, after): get=1; for each host-name peer whose last handshake
//   is older than `after` (kReresolveAfter, 2 minutes; or none yet), resolve the name again
//   and, when the address changed, set=1 public_key=.. update_only=true endpoint=NEW.
//
// It exits when the daemon's socket is gone; `tundra down` also stops it.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "tundra/base/result.h"
#include "tundra/config/config.h"
#include "tundra/crypto/secret.h"
#include "tundra/transport/endpoint.h"

namespace tundra::cli::up {

inline constexpr std::chrono::seconds kReresolveAfter{120};
inline constexpr std::chrono::seconds kResolveCheckInterval{10};
// Overrides kReresolveAfter (seconds), for tests and impatient users.
inline constexpr char kReresolveAfterEnv[] = "TUNDRA_RERESOLVE_AFTER";

// getaddrinfo (AF_UNSPEC, UDP; the first answer, as `wg` takes it). Errors name the host and
// the config line. One try: the re-resolver tries again on its own schedule.
Result<transport::Endpoint> ResolveEndpoint(const config::EndpointSpec& spec);

// At `up` and `syncconf`, a name that does not resolve yet (DNS not up at boot) is tried again
// as `wg` does: WG_ENDPOINT_RESOLUTION_RETRIES times (default 15; "infinity" = no limit),
// waiting 1 s, then 1.2 times longer each time, at most 20 s. Permanent answers (no such name:
// EAI_NONAME, EAI_FAIL, EAI_NODATA) are not retried.
inline constexpr char kResolveRetriesEnv[] = "WG_ENDPOINT_RESOLUTION_RETRIES";
inline constexpr int kDefaultResolveRetries = 15;
inline constexpr std::chrono::milliseconds kResolveFirstWait{1000};
inline constexpr std::chrono::milliseconds kResolveMaxWait{20000};
inline constexpr int kResolveUnlimited = -1;

// The retry count from the environment's value (nullptr = unset): an error names the variable.
Result<int> ResolveRetries(const char* env_value);

// The seams of ResolveEndpointRetrying: one getaddrinfo (its EAI_ code, 0 = resolved) and a
// wait; tests give fakes.
struct ResolveSeams {
  std::function<int(const config::EndpointSpec&, transport::Endpoint&)> lookup;
  std::function<void(std::chrono::milliseconds)> wait;
};
ResolveSeams SystemResolveSeams();
Result<transport::Endpoint> ResolveEndpointRetrying(const config::EndpointSpec& spec, int retries,
                                                    const ResolveSeams& seams);

struct ResolveTarget {
  crypto::PublicKey peer{};
  config::EndpointSpec spec;
};

// kReresolveAfter, or the value of TUNDRA_RERESOLVE_AFTER when that is a positive number.
std::chrono::seconds ReresolveAfter();

// The loop (never returns; exits the process when the socket is gone).
[[noreturn]] void RunResolver(const std::string& ifname, const std::vector<ResolveTarget>& targets,
                              std::chrono::seconds after);

}  // namespace tundra::cli::up
