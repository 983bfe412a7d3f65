#include "tundra/impair/impairment.h"

#include <fmt/core.h>

#include <algorithm>

namespace tundra::impair {
namespace {

constexpr double kTwoToMinus53 = 0x1.0p-53;
constexpr int kUnusedMantissaBits = 11;             // 64 - 53
constexpr uint64_t kNsPerKbitByte = 8 * 1'000'000;  // 8 bits * 1e9 ns / 1000 bit/s

bool Chance(double u, double percent) { return percent > 0 && u * kPercent < percent; }

}  // namespace

std::string_view DropReasonName(DropReason r) {
  switch (r) {
    case DropReason::kLoss:
      return "loss";
    case DropReason::kBurstLoss:
      return "burst_loss";
    case DropReason::kQueueFull:
      return "queue_full";
    case DropReason::kTooBig:
      return "too_big";
  }
  return "?";
}

uint64_t Counters::dropped_total() const {
  uint64_t n = 0;
  for (uint64_t d : dropped) n += d;
  return n;
}

Impairment::Impairment(const DirectionConfig& config, uint64_t seed)
    : config_(config), rng_(seed) {}

double Impairment::Uniform() { return double(rng_() >> kUnusedMantissaBits) * kTwoToMinus53; }

Duration Impairment::TransmitTime(size_t bytes) const {
  if (config_.rate_kbit == 0) return Duration(0);
  return Duration(int64_t(uint64_t(bytes) * kNsPerKbitByte / config_.rate_kbit));
}

bool Impairment::AllowTooBigReply(TimePoint now) {
  const uint64_t per_second = config_.too_big_reply ? config_.too_big_reply->per_second : 0;
  if (per_second != 0) {
    const Duration cost = Duration(std::chrono::seconds(1)) / int64_t(per_second);
    const Duration tolerance = cost * int64_t(std::max<uint64_t>(config_.too_big_reply->burst, 1));
    const TimePoint next = std::max(reply_tat_, now) + cost;
    if (next - now > tolerance) {
      ++counters_.too_big_rate_limited;
      return false;
    }
    reply_tat_ = next;
  }
  ++counters_.too_big_replied;
  return true;
}

size_t Impairment::QueuedBytes(TimePoint now) {
  while (!bottleneck_.empty() && bottleneck_.front().done <= now) {
    bottleneck_bytes_ -= bottleneck_.front().bytes;
    bottleneck_.pop_front();
  }
  return bottleneck_bytes_;
}

Decision Impairment::Decide(TimePoint now, std::span<uint8_t> packet) {
  // A fixed number of draws per packet, in a fixed order (see the header).
  const double u_loss = Uniform();
  const double u_transition = Uniform();
  const double u_burst_loss = Uniform();
  const double u_duplicate = Uniform();
  const double u_corrupt = Uniform();
  const uint64_t r_bit = rng_();
  const double u_reorder = Uniform();
  std::array<double, kMaxCopies> u_jitter{};
  for (double& u : u_jitter) u = Uniform();

  ++counters_.received;
  Decision d;
  auto drop = [&](DropReason r) {
    CountDrop(r);
    d.drop = r;
    return d;
  };
  if (config_.mtu != 0 && packet.size() > config_.mtu + config_.link_header) {
    return drop(DropReason::kTooBig);
  }
  if (Chance(u_loss, config_.loss)) return drop(DropReason::kLoss);
  if (config_.burst.enabled()) {
    bad_ = bad_ ? !Chance(u_transition, config_.burst.r) : Chance(u_transition, config_.burst.p);
    if (Chance(u_burst_loss, bad_ ? config_.burst.loss_bad : config_.burst.loss_good)) {
      return drop(DropReason::kBurstLoss);
    }
  }
  const size_t copies = Chance(u_duplicate, config_.duplicate) ? 2 : 1;
  if (copies > 1) ++counters_.duplicated;
  if (!packet.empty() && Chance(u_corrupt, config_.corrupt)) {
    const size_t bit = size_t(r_bit % (uint64_t(packet.size()) * 8));
    packet[bit / 8] ^= uint8_t(1u << (bit % 8));
    d.flipped_bit = bit;
    ++counters_.corrupted;
  }
  const bool delayed = config_.delay.count() > 0 || config_.jitter.count() > 0;
  d.reordered = delayed && Chance(u_reorder, config_.reorder);
  if (d.reordered) ++counters_.reordered;

  for (size_t i = 0; i < copies; ++i) {
    // The rate bottleneck: FIFO, tail drop when the copy does not fit in the queue.
    TimePoint done = now;
    if (config_.rate_kbit != 0) {
      const size_t queued = QueuedBytes(now);
      if (queued + packet.size() > config_.queue_bytes) {
        drop(DropReason::kQueueFull);
        continue;
      }
      done = std::max(now, link_free_) + TransmitTime(packet.size());
      link_free_ = done;
      bottleneck_.push_back({done, packet.size()});
      bottleneck_bytes_ += packet.size();
      counters_.queue_high_water =
          std::max<uint64_t>(counters_.queue_high_water, bottleneck_bytes_);
    }
    TimePoint release = done;
    if (!d.reordered) {
      Duration extra = config_.delay;
      if (config_.jitter.count() > 0) {
        const int64_t j = config_.jitter.count();
        extra += Duration(int64_t(u_jitter[i] * double(2 * j + 1)) - j);
      }
      release = done + std::max(extra, Duration(0));
      if (!config_.jitter_reorders) release = std::max(release, last_release_);
      last_release_ = std::max(last_release_, release);
    }
    d.release[d.copies++] = release;
  }
  if (d.copies > 0) d.drop.reset();
  return d;
}

std::string FormatCounters(const Counters& c, std::string_view prefix) {
  std::string s = fmt::format("{}received {}\n{}sent {}\n", prefix, c.received, prefix, c.sent);
  for (size_t i = 0; i < kDropReasons; ++i) {
    s += fmt::format("{}dropped_{} {}\n", prefix, DropReasonName(DropReason(i)), c.dropped[i]);
  }
  s += fmt::format("{}duplicated {}\n{}corrupted {}\n{}reordered {}\n{}queue_high_water_bytes {}\n",
                   prefix, c.duplicated, prefix, c.corrupted, prefix, c.reordered, prefix,
                   c.queue_high_water);
  s += fmt::format(
      "{}too_big_replies_sent {}\n{}too_big_replies_rate_limited {}\n{}too_big_unanswerable {}\n",
      prefix, c.too_big_replied, prefix, c.too_big_rate_limited, prefix, c.too_big_unanswerable);
  return s;
}

std::string CountersJson(const Counters& c) {
  std::string dropped;
  for (size_t i = 0; i < kDropReasons; ++i) {
    dropped +=
        fmt::format("{}\"{}\":{}", i == 0 ? "" : ",", DropReasonName(DropReason(i)), c.dropped[i]);
  }
  return fmt::format(
      "{{\"received\":{},\"sent\":{},\"dropped\":{{{}}},\"duplicated\":{},\"corrupted\":{},"
      "\"reordered\":{},\"queue_high_water_bytes\":{},\"too_big_replies\":{{\"sent\":{},"
      "\"rate_limited\":{},\"unanswerable\":{}}}}}",
      c.received, c.sent, dropped, c.duplicated, c.corrupted, c.reordered, c.queue_high_water,
      c.too_big_replied, c.too_big_rate_limited, c.too_big_unanswerable);
}

}  // namespace tundra::impair
