#include "tundra/cli/hook_runner.h"

#include "tundra/base/log.h"
#include "tundra/crypto/key_text.h"

namespace tundra::cli {

bool PeerHooks::empty() const {
  if (!up.empty() || !down.empty()) return false;
  for (const PeerHookSpec& p : peers) {
    if (!p.up.empty() || !p.down.empty()) return false;
  }
  return true;
}

std::vector<std::string> PeerHooks::LinesFor(device::PeerEventKind kind,
                                             const crypto::PublicKey& peer) const {
  const bool is_up = kind == device::PeerEventKind::kUp;
  std::vector<std::string> lines = is_up ? up : down;
  for (const PeerHookSpec& p : peers) {
    if (p.public_key != peer) continue;
    const auto& own = is_up ? p.up : p.down;
    lines.insert(lines.end(), own.begin(), own.end());
  }
  return lines;
}

HookRunner::HookRunner(std::string ifname, PeerHooks hooks, RunFn run, size_t capacity)
    : ifname_(std::move(ifname)),
      hooks_(std::move(hooks)),
      run_(std::move(run)),
      capacity_(capacity) {}

HookRunner::~HookRunner() { Stop(); }

void HookRunner::Start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
}

void HookRunner::Post(const device::PeerEvent& event) {
  std::vector<std::string> lines = hooks_.LinesFor(event.kind, event.public_key);
  if (lines.empty()) return;
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= capacity_) {
      ++counters_.dropped;
      TUNDRA_LOG_RATELIMITED(kWarn, "Peer{} hook queue full ({} events): event dropped",
                             event.kind == device::PeerEventKind::kUp ? "Up" : "Down", capacity_);
      return;
    }
    queue_.push_back(Job{event.kind, std::move(lines),
                         HookContext{ifname_, crypto::KeyToBase64(event.public_key),
                                     event.endpoint ? event.endpoint->ToString() : ""}});
  }
  cv_.notify_all();  // the loop, and any WaitIdle
}

void HookRunner::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Job job = std::move(queue_.front());
    queue_.pop_front();
    running_job_ = true;
    for (const std::string& line : job.lines) {
      lock.unlock();  // a hook runs for up to its time limit: no lock held meanwhile
      Status s = run_(line, job.ctx);
      if (!s.ok()) {
        TUNDRA_LOG(kWarn, "Peer{} hook for {}: {}",
                   job.kind == device::PeerEventKind::kUp ? "Up" : "Down", job.ctx.peer_key,
                   s.error().message());
      }
      lock.lock();
      ++counters_.ran;
      if (!s.ok()) ++counters_.failed;
      if (stopping_) break;
    }
    running_job_ = false;
    cv_.notify_all();
  }
}

void HookRunner::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      counters_.dropped += queue_.size();
      queue_.clear();
    }
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

HookRunner::Counters HookRunner::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

bool HookRunner::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return queue_.empty() && !running_job_; });
}

}  // namespace tundra::cli
