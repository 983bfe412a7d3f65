// The impairment options of `tundra impair` (and, later, `tundra bridge`): each applies to both
// directions as --NAME, or to one as --NAME-up (client -> target) / --NAME-down (back).
#pragma once

#include <cstdint>
#include <optional>

#include "tundra/base/result.h"
#include "tundra/cli/args.h"
#include "tundra/impair/impairment.h"

namespace tundra::cli {

struct ImpairOptions {
  impair::DirectionConfig up;    // client -> target
  impair::DirectionConfig down;  // target -> client
  std::optional<uint64_t> seed;  // none: a random one (printed, so the run can be repeated)
};

// Registers --loss, --burst-loss, --delay, --jitter, --jitter-reorder, --reorder, --duplicate,
// --corrupt, --rate, --queue, --mtu (each with -up and -down forms) and --seed.
void AddImpairOptions(ArgParser& p);
// Errors name the option and its value: "impair: --loss '120' is not a percentage (0..100)".
Result<ImpairOptions> ParseImpairOptions(const ParsedArgs& a);

}  // namespace tundra::cli
