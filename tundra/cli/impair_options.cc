#include "tundra/cli/impair_options.h"

#include <fmt/core.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "tundra/tun/icmp.h"

namespace tundra::cli {
namespace {

using impair::DirectionConfig;

constexpr double kMaxDelayMs = 3'600'000;       // one hour
constexpr uint64_t kMaxRateKbit = 100'000'000;  // 100 Gbit/s
constexpr uint64_t kMaxQueueBytes = uint64_t(1) << 30;
constexpr double kNsPerMs = 1e6;

enum class Kind { kPercent, kMs, kRate, kBytes, kMtu, kMtuReply, kBurst, kFlag };

struct Spec {
  const char* name;
  const char* metavar;
  const char* help;
  Kind kind;
  // Stores a parsed value (percent or ms as double, integers as uint64_t) into the config.
  void (*apply)(DirectionConfig&, double, uint64_t);
};

const Spec kSpecs[] = {
    {"loss", "P", "independent loss, % (0..100)", Kind::kPercent,
     [](DirectionConfig& c, double v, uint64_t) { c.loss = v; }},
    {"burst-loss", "P,R[,B[,G]]",
     "Gilbert-Elliott loss: % good->bad, % bad->good, loss % in bad (100), in good (0)",
     Kind::kBurst, nullptr},
    {"delay", "MS", "delay, ms (fractions allowed)", Kind::kMs,
     [](DirectionConfig& c, double v, uint64_t) { c.delay = Duration(int64_t(v * kNsPerMs)); }},
    {"jitter", "MS", "uniform jitter +-MS around the delay; keeps order unless --jitter-reorder",
     Kind::kMs,
     [](DirectionConfig& c, double v, uint64_t) { c.jitter = Duration(int64_t(v * kNsPerMs)); }},
    {"jitter-reorder", "", "let jitter reorder packets", Kind::kFlag,
     [](DirectionConfig& c, double, uint64_t) { c.jitter_reorders = true; }},
    {"reorder", "P", "% of packets sent at once while others wait the delay", Kind::kPercent,
     [](DirectionConfig& c, double v, uint64_t) { c.reorder = v; }},
    {"duplicate", "P", "% of packets sent twice", Kind::kPercent,
     [](DirectionConfig& c, double v, uint64_t) { c.duplicate = v; }},
    {"corrupt", "P", "% of packets with one random bit flipped", Kind::kPercent,
     [](DirectionConfig& c, double v, uint64_t) { c.corrupt = v; }},
    {"rate", "KBIT", "bottleneck rate, kbit/s (1000 bit/s; 0 = unlimited)", Kind::kRate,
     [](DirectionConfig& c, double, uint64_t v) { c.rate_kbit = v; }},
    {"queue", "BYTES", "bottleneck queue limit, bytes (tail drop; default 1048576)", Kind::kBytes,
     [](DirectionConfig& c, double, uint64_t v) { c.queue_bytes = size_t(v); }},
    {"mtu", "N", "drop datagrams larger than N bytes (0 = no limit)", Kind::kMtu,
     [](DirectionConfig& c, double, uint64_t v) { c.mtu = size_t(v); }},
    {"mtu-reply", "icmp|drop",
     "over --mtu: drop (default), or icmp: drop and answer frag-needed / packet too big",
     Kind::kMtuReply, nullptr},
};

Error Bad(const std::string& option, const std::string& value, const char* what) {
  return InvalidArgument(fmt::format("impair: --{} '{}' {}", option, value, what));
}

Result<double> ParseDouble(const std::string& option, const std::string& value, double max,
                           const char* what) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || errno != 0 || !std::isfinite(v) || v < 0 || v > max) {
    return Bad(option, value, what);
  }
  return v;
}

Result<uint64_t> ParseUint(const std::string& option, const std::string& value, uint64_t max,
                           const char* what) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(value.c_str(), &end, 10);
  if (value.empty() || value[0] == '-' || *end != '\0' || errno != 0 || v > max) {
    return Bad(option, value, what);
  }
  return uint64_t(v);
}

Result<impair::GilbertElliott> ParseBurst(const std::string& option, const std::string& value) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t comma; (comma = value.find(',', start)) != std::string::npos; start = comma + 1) {
    parts.push_back(value.substr(start, comma - start));
  }
  parts.push_back(value.substr(start));
  constexpr const char* kWhat = "is not P,R[,LOSS_BAD[,LOSS_GOOD]] (percentages, 0..100)";
  if (parts.size() < 2 || parts.size() > 4) return Bad(option, value, kWhat);
  std::vector<double> v;
  for (const std::string& part : parts) {
    auto d = ParseDouble(option, part, impair::kPercent, kWhat);
    if (!d.ok()) return Bad(option, value, kWhat);
    v.push_back(*d);
  }
  impair::GilbertElliott ge;
  ge.p = v[0];
  ge.r = v[1];
  if (v.size() > 2) ge.loss_bad = v[2];
  if (v.size() > 3) ge.loss_good = v[3];
  return ge;
}

// Applies one option's value (if given) to `c`.
Status ApplyOne(const Spec& s, const std::string& option, const ParsedArgs& a, DirectionConfig& c) {
  if (!a.Has(option)) return {};
  const std::string value = a.Get(option).value_or("");
  switch (s.kind) {
    case Kind::kFlag:
      s.apply(c, 0, 0);
      return {};
    case Kind::kPercent: {
      TUNDRA_ASSIGN_OR_RETURN(
          double v, ParseDouble(option, value, impair::kPercent, "is not a percentage (0..100)"));
      s.apply(c, v, 0);
      return {};
    }
    case Kind::kMs: {
      TUNDRA_ASSIGN_OR_RETURN(
          double v, ParseDouble(option, value, kMaxDelayMs, "is not milliseconds (0..3600000)"));
      s.apply(c, v, 0);
      return {};
    }
    case Kind::kRate: {
      TUNDRA_ASSIGN_OR_RETURN(uint64_t v, ParseUint(option, value, kMaxRateKbit,
                                                    "is not a rate in kbit/s (0..100000000)"));
      s.apply(c, 0, v);
      return {};
    }
    case Kind::kBytes: {
      TUNDRA_ASSIGN_OR_RETURN(
          uint64_t v,
          ParseUint(option, value, kMaxQueueBytes, "is not a queue size in bytes (1..1073741824)"));
      if (v == 0) return Bad(option, value, "is not a queue size in bytes (1..1073741824)");
      s.apply(c, 0, v);
      return {};
    }
    case Kind::kMtu: {
      TUNDRA_ASSIGN_OR_RETURN(uint64_t v, ParseUint(option, value, impair::kMaxDatagram,
                                                    "is not a datagram size (0..65535)"));
      s.apply(c, 0, v);
      return {};
    }
    case Kind::kMtuReply:
      if (value == "drop") {
        c.too_big_reply.reset();
      } else if (value == "icmp") {
        // Rate-limited as a router's ICMP errors are (tundra/tun/icmp.h).
        c.too_big_reply = impair::TooBigReply{tun::kIcmpErrorsPerSecond, tun::kIcmpErrorBurst};
      } else {
        return Bad(option, value, "is not icmp or drop");
      }
      return {};
    case Kind::kBurst: {
      TUNDRA_ASSIGN_OR_RETURN(impair::GilbertElliott ge, ParseBurst(option, value));
      c.burst = ge;
      return {};
    }
  }
  return {};
}

}  // namespace

void AddImpairOptions(ArgParser& p, std::string_view up, std::string_view down) {
  const std::string kUpOnly = fmt::format("  the same, {} only", up);
  const std::string kDownOnly = fmt::format("  the same, {} only", down);
  for (const Spec& s : kSpecs) {
    const std::string name = s.name;
    if (s.kind == Kind::kFlag) {
      p.Flag(name, s.help).Flag(name + "-up", kUpOnly).Flag(name + "-down", kDownOnly);
    } else {
      p.Option(name, s.metavar, s.help)
          .Option(name + "-up", s.metavar, kUpOnly)
          .Option(name + "-down", s.metavar, kDownOnly);
    }
  }
  p.Option("seed", "N", "PRNG seed: the same input gets the same decisions (default random)");
}

Result<ImpairOptions> ParseImpairOptions(const ParsedArgs& a) {
  ImpairOptions o;
  for (const Spec& s : kSpecs) {
    const std::string name = s.name;
    // Both directions first, then the per-direction forms override.
    TUNDRA_RETURN_IF_ERROR(ApplyOne(s, name, a, o.up));
    TUNDRA_RETURN_IF_ERROR(ApplyOne(s, name, a, o.down));
    TUNDRA_RETURN_IF_ERROR(ApplyOne(s, name + "-up", a, o.up));
    TUNDRA_RETURN_IF_ERROR(ApplyOne(s, name + "-down", a, o.down));
    o.any = o.any || a.Has(name) || a.Has(name + "-up") || a.Has(name + "-down");
  }
  const bool replies = o.up.too_big_reply || o.down.too_big_reply;
  if (replies && !(o.up.too_big_reply && o.up.mtu > 0) &&
      !(o.down.too_big_reply && o.down.mtu > 0)) {
    return InvalidArgument(
        "impair: --mtu-reply icmp answers packets over --mtu, and no --mtu is set for it");
  }
  if (auto seed = a.Get("seed")) {
    TUNDRA_ASSIGN_OR_RETURN(
        uint64_t v, ParseUint("seed", *seed, UINT64_MAX, "is not an unsigned 64-bit number"));
    o.seed = v;
  }
  return o;
}

}  // namespace tundra::cli
