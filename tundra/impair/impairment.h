// Impairment: a sans-IO model of one direction of a bad network link (`tundra impair`).
//
//   Impairment up(config, seed);
//   Decision d = up.Decide(clock.Now(), packet);  // may flip one bit of `packet` in place
//   for (size_t i = 0; i < d.copies; ++i) scheduler.Push(d.release[i], packet);
//   ... when a copy leaves: up.OnReleased(size)
//
// The model never reads a clock and never sleeps: it takes the arrival time and returns the
// release time of every copy; a Scheduler (scheduler.h, a min-heap) releases them. All
// randomness comes from one std::mt19937_64 seeded with `seed`, and every packet consumes the
// same number of draws (one per decision, whether that impairment is on or not), so the same
// input sequence gets the same decisions, and turning one impairment on does not shift the
// decisions of another.
//
// Per packet, in order (docs/impair.md): MTU check (too_big; the shell may answer it), independent
// loss (loss), Gilbert-Elliott burst loss (burst_loss), duplicate, corrupt (one bit), then per
// copy: the rate bottleneck with its byte queue (queue_full on tail drop), then delay + jitter, or,
// for a reordered packet, no delay.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>

#include "tundra/base/clock.h"

namespace tundra::impair {

// Every limit of the model, in one place.
inline constexpr size_t kMaxCopies = 2;                    // the packet and one duplicate
inline constexpr size_t kDefaultQueueBytes = 1024 * 1024;  // rate bottleneck queue (--queue)
inline constexpr size_t kMaxDatagram = 65535;              // largest UDP payload relayed
inline constexpr double kPercent = 100.0;

// Gilbert-Elliott two-state loss (netem `loss gemodel p r 1-h 1-k`), percentages: p = chance
// to go good->bad per packet, r = bad->good, loss_bad/loss_good = loss chance in each state.
struct GilbertElliott {
  double p = 0;
  double r = 0;
  double loss_bad = kPercent;
  double loss_good = 0;
  bool enabled() const { return p > 0; }
};

// --mtu-reply icmp: the shell answers a too-big packet with an ICMP error (which it builds:
// tundra/tun/icmp.h) at most `per_second` times a second, in bursts of at most `burst`
// (RFC 1812 4.3.2.8, RFC 4443 2.4(f)); per_second 0 = no limit.
struct TooBigReply {
  uint64_t per_second = 0;
  uint64_t burst = 1;
};

// One direction's impairments. Percentages are 0..100; zero turns an impairment off.
struct DirectionConfig {
  double loss = 0;               // independent loss %
  GilbertElliott burst;          // burst loss
  Duration delay{0};             // fixed delay
  Duration jitter{0};            // uniform in [-jitter, +jitter] added to the delay
  bool jitter_reorders = false;  // false: a packet never leaves before an earlier one
  double reorder = 0;            // % of packets sent at once while others wait the delay (netem)
  double duplicate = 0;          // % of packets sent twice
  double corrupt = 0;            // % of packets with one random bit flipped
  uint64_t rate_kbit = 0;        // bottleneck rate, kbit/s (1000 bit/s); 0 = unlimited
  size_t queue_bytes = kDefaultQueueBytes;  // bottleneck queue limit (tail drop)
  size_t mtu = 0;                           // larger datagrams are dropped; 0 = no limit
  size_t link_header = 0;  // bytes in front of the packet that the MTU does not count (the
                           // Ethernet header of a TAP frame)
  std::optional<TooBigReply> too_big_reply;  // none: a too-big packet is only dropped
};

enum class DropReason : uint8_t { kLoss, kBurstLoss, kQueueFull, kTooBig };
inline constexpr size_t kDropReasons = 4;
std::string_view DropReasonName(DropReason r);  // "loss", "burst_loss", "queue_full", "too_big"

struct Counters {
  uint64_t received = 0;                         // packets in
  uint64_t sent = 0;                             // copies out (OnReleased)
  std::array<uint64_t, kDropReasons> dropped{};  // by DropReason, per copy
  uint64_t duplicated = 0;                       // extra copies made
  uint64_t corrupted = 0;                        // packets with a bit flipped
  uint64_t reordered = 0;                        // packets sent without the delay
  uint64_t queue_high_water = 0;                 // most bytes ever in the bottleneck queue
  // With TooBigReply, each too_big drop is one of: answered, rate limited, or unanswerable
  // (not an IP packet, IPv4 without DF, an ICMP error, multicast: tundra/tun/icmp.h).
  uint64_t too_big_replied = 0;
  uint64_t too_big_rate_limited = 0;
  uint64_t too_big_unanswerable = 0;
  uint64_t dropped_total() const;
};

struct Decision {
  size_t copies = 0;  // 0: dropped (see `drop`)
  std::array<TimePoint, kMaxCopies> release{};
  std::optional<DropReason> drop;     // why the packet (or its last copy) was dropped
  std::optional<size_t> flipped_bit;  // bit index flipped (byte = bit / 8, mask 1 << bit % 8)
  bool reordered = false;
};

class Impairment {
 public:
  Impairment(const DirectionConfig& config, uint64_t seed);

  // Decides the fate of `packet`, arriving at `now` (non-decreasing between calls). May flip
  // one bit of `packet`; every copy carries the same bytes.
  Decision Decide(TimePoint now, std::span<uint8_t> packet);

  // The I/O shell reports each copy it released (sent), or dropped for its own reason.
  void OnReleased() { ++counters_.sent; }
  void CountDrop(DropReason r) { ++counters_.dropped[size_t(r)]; }
  // With TooBigReply, for a too_big drop the shell could answer: true (counted replied) when
  // the rate limit lets a reply go at `now`, false (counted rate_limited) otherwise.
  bool AllowTooBigReply(TimePoint now);
  // With TooBigReply, for a too_big drop that no reply may answer.
  void CountTooBigUnanswerable() { ++counters_.too_big_unanswerable; }

  const Counters& counters() const { return counters_; }
  const DirectionConfig& config() const { return config_; }
  bool in_bad_state() const { return bad_; }
  // Bytes in the rate bottleneck at `now` (waiting or being transmitted).
  size_t QueuedBytes(TimePoint now);
  // Transmission time of `bytes` at the configured rate (zero when unlimited).
  Duration TransmitTime(size_t bytes) const;

 private:
  double Uniform();  // [0, 1), 53 bits

  DirectionConfig config_;
  std::mt19937_64 rng_;
  Counters counters_;
  bool bad_ = false;          // Gilbert-Elliott state
  TimePoint link_free_{};     // when the bottleneck finishes its last packet
  TimePoint last_release_{};  // latest release of a delayed packet (ordering without reorder)
  struct InFlight {
    TimePoint done;
    size_t bytes;
  };
  std::deque<InFlight> bottleneck_;  // FIFO, `done` non-decreasing
  size_t bottleneck_bytes_ = 0;
  TimePoint reply_tat_{};  // too-big replies: when the bucket is full again (GCRA)
};

// Counters as text (one line per field, `prefix` before each) and as a JSON object.
std::string FormatCounters(const Counters& c, std::string_view prefix);
std::string CountersJson(const Counters& c);

}  // namespace tundra::impair
