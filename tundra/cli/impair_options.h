// The impairment options of `tundra impair` and `tundra bridge`: each applies to both
// directions as --NAME, or to one as --NAME-up (client -> target) / --NAME-down (back).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "tundra/base/result.h"
#include "tundra/cli/args.h"
#include "tundra/impair/impairment.h"

namespace tundra::cli {

struct ImpairOptions {
  impair::DirectionConfig up;    // client -> target
  impair::DirectionConfig down;  // target -> client
  std::optional<uint64_t> seed;  // none: a random one (printed, so the run can be repeated)
  bool any = false;              // at least one impairment option was given
};

// Registers --loss, --burst-loss, --delay, --jitter, --jitter-reorder, --reorder, --duplicate,
// --corrupt, --rate, --queue, --mtu (each with -up and -down forms) and --seed. `up` and `down`
// name the two directions in the help ("client -> target", "IF1 -> IF2").
void AddImpairOptions(ArgParser& p, std::string_view up = "client -> target",
                      std::string_view down = "target -> client");
// Errors name the option and its value: "impair: --loss '120' is not a percentage (0..100)".
Result<ImpairOptions> ParseImpairOptions(const ParsedArgs& a);

}  // namespace tundra::cli
