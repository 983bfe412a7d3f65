// The TCP form of `tundra impair` (impair_tcp.cc): a stream relay whose bytes cross the delay,
// jitter and rate of a simulated link, with flow control instead of drops.
#pragma once

#include <cstdint>

#include "tundra/base/result.h"
#include "tundra/cli/impair_options.h"
#include "tundra/transport/endpoint.h"

namespace tundra::cli {

// OK when `options` uses only what applies to a byte stream (delay, jitter keeping order,
// rate, queue); else an error naming the first option that does not.
Status CheckTcpImpairments(const ImpairOptions& options);

// Runs the relay until SIGINT/SIGTERM; returns the exit code (counters printed on exit).
int RunTcpRelay(const ImpairOptions& options, uint64_t seed, const transport::Endpoint& listen,
                const transport::Endpoint& target, bool json);

}  // namespace tundra::cli
