#include "tundra/transport/fake_bind.h"

#include <fmt/core.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tundra/base/check.h"

namespace tundra::transport {

void FakeNetwork::set_filter(Filter f) {
  std::lock_guard lock(mu_);
  filter_ = std::move(f);
}

uint64_t FakeNetwork::delivered() const {
  std::lock_guard lock(mu_);
  return delivered_;
}

uint64_t FakeNetwork::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

Result<uint16_t> FakeNetwork::Register(FakeBind* bind, const Endpoint& address, uint16_t port) {
  std::lock_guard lock(mu_);
  const std::string host = address.ToString().substr(0, address.ToString().rfind(':'));
  if (port == 0) {
    while (binds_.count({host, next_port_}) != 0) ++next_port_;
    port = next_port_++;
  }
  if (binds_.count({host, port}) != 0) {
    return Error(EADDRINUSE, fmt::format("bind(fake {}:{})", host, port), "Address already in use");
  }
  binds_[{host, port}] = bind;
  return port;
}

void FakeNetwork::Unregister(FakeBind* bind) {
  std::lock_guard lock(mu_);
  for (auto it = binds_.begin(); it != binds_.end();) {
    it = it->second == bind ? binds_.erase(it) : std::next(it);
  }
}

bool FakeNetwork::Deliver(const Endpoint& from, const Endpoint& to, ByteSpan data, bool filtered) {
  FakeBind* target = nullptr;
  {
    std::lock_guard lock(mu_);
    const std::string s = to.ToString();
    auto it = binds_.find({s.substr(0, s.rfind(':')), to.port()});
    if (it == binds_.end()) {
      ++dropped_;
      return false;
    }
    if (filtered && filter_ && !filter_(from, to, data)) {
      ++dropped_;
      return true;
    }
    target = it->second;
    ++delivered_;
    // Enqueue under the network lock so that Unregister cannot race the delivery.
    target->Enqueue(from, data);
  }
  return true;
}

bool FakeNetwork::Inject(const Endpoint& from, const Endpoint& to, ByteSpan data) {
  return Deliver(from, to, data, false);
}

FakeBind::FakeBind(FakeNetwork& network, std::string address)
    : network_(network), address_(std::move(address)) {
  int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  TUNDRA_CHECK(fd >= 0);
  event_fd_.reset(fd);
}

FakeBind::~FakeBind() { Close(); }

Endpoint FakeBind::local() const {
  std::lock_guard lock(mu_);
  return *Endpoint::Parse(fmt::format("{}:{}", address_, port_));
}

uint32_t FakeBind::mark() const {
  std::lock_guard lock(mu_);
  return mark_;
}

size_t FakeBind::sent() const {
  std::lock_guard lock(mu_);
  return sent_;
}

size_t FakeBind::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void FakeBind::set_paused(bool paused) {
  {
    std::lock_guard lock(mu_);
    paused_ = paused;
  }
  uint64_t one = 1;
  ssize_t r = ::write(event_fd_.get(), &one, sizeof(one));
  (void)r;
}

Result<uint16_t> FakeBind::Open(uint16_t port) {
  network_.Unregister(this);
  auto address = Endpoint::Parse(fmt::format("{}:0", address_));
  if (!address.ok()) return address.error();
  TUNDRA_ASSIGN_OR_RETURN(uint16_t bound, network_.Register(this, *address, port));
  std::lock_guard lock(mu_);
  port_ = bound;
  return bound;
}

void FakeBind::Close() {
  network_.Unregister(this);
  std::lock_guard lock(mu_);
  port_ = 0;
  queue_.clear();
}

Status FakeBind::SetMark(uint32_t mark) {
  std::lock_guard lock(mu_);
  mark_ = mark;
  return OkStatus();
}

void FakeBind::Enqueue(const Endpoint& from, ByteSpan data) {
  {
    std::lock_guard lock(mu_);
    queue_.emplace_back(from, std::vector<uint8_t>(data.begin(), data.end()));
  }
  uint64_t one = 1;
  ssize_t r = ::write(event_fd_.get(), &one, sizeof(one));
  (void)r;
}

Result<size_t> FakeBind::Receive(size_t, std::span<RecvPacket> out) {
  uint64_t drained;
  ssize_t r = ::read(event_fd_.get(), &drained, sizeof(drained));
  (void)r;
  std::lock_guard lock(mu_);
  handed_out_.clear();
  if (paused_) return size_t{0};
  size_t n = 0;
  while (n < out.size() && !queue_.empty()) {
    handed_out_.push_back(std::move(queue_.front().second));
    out[n].from = queue_.front().first;
    out[n].data = MutableByteSpan(handed_out_.back());
    queue_.pop_front();
    ++n;
  }
  if (!queue_.empty()) {
    uint64_t one = 1;
    r = ::write(event_fd_.get(), &one, sizeof(one));
  }
  // Vectors moved into handed_out_ keep their heap buffers: the spans stay valid.
  return n;
}

void FakeBind::set_send_errno(int code) {
  std::lock_guard lock(mu_);
  send_errno_ = code;
}

void FakeBind::set_receive_losses(ReceiveLosses losses) {
  std::lock_guard lock(mu_);
  losses_ = losses;
}

Bind::ReceiveLosses FakeBind::receive_losses() const {
  std::lock_guard lock(mu_);
  return losses_;
}

Status FakeBind::Send(std::span<const ByteSpan> datagrams, const Endpoint& to) {
  {
    std::lock_guard lock(mu_);
    if (send_errno_ != 0) return Error(send_errno_, "FakeBind send", "injected failure");
  }
  const Endpoint me = local();
  for (ByteSpan d : datagrams) {
    {
      std::lock_guard lock(mu_);
      ++sent_;
    }
    network_.Deliver(me, to, d, true);
  }
  return OkStatus();
}

}  // namespace tundra::transport
