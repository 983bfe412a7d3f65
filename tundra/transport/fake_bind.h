// FakeBind: an in-memory Bind for in-process tests of the daemon (wireguard-go bindtest).
//
// Binds attached to one FakeNetwork reach each other by fake endpoints (an IPv4 address given
// at construction, the port from Open). Each delivery is a copy; every bind has one receiver
// whose fd is an eventfd. A network-wide filter can drop, inspect or count packets; Inject()
// delivers arbitrary bytes from any claimed source. Thread-safe.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "tundra/base/unique_fd.h"
#include "tundra/transport/bind.h"

namespace tundra::transport {

class FakeBind;

class FakeNetwork {
 public:
  // Return false to drop the datagram.
  using Filter = std::function<bool(const Endpoint& from, const Endpoint& to, ByteSpan data)>;
  void set_filter(Filter f);
  // Delivers `data` to the bind listening on `to`, as if sent from `from`. False if none is.
  bool Inject(const Endpoint& from, const Endpoint& to, ByteSpan data);
  uint64_t delivered() const;
  uint64_t dropped() const;

 private:
  friend class FakeBind;
  Result<uint16_t> Register(FakeBind* bind, const Endpoint& address, uint16_t port);
  void Unregister(FakeBind* bind);
  bool Deliver(const Endpoint& from, const Endpoint& to, ByteSpan data, bool filtered);

  mutable std::mutex mu_;
  std::map<std::pair<std::string, uint16_t>, FakeBind*> binds_;  // guarded by mu_
  Filter filter_;                                                // guarded by mu_
  uint16_t next_port_ = 40000;
  uint64_t delivered_ = 0;
  uint64_t dropped_ = 0;
};

class FakeBind final : public Bind {
 public:
  // `network` must outlive the bind. `address` is like "198.18.0.1" (port ignored).
  FakeBind(FakeNetwork& network, std::string address);
  ~FakeBind() override;

  Result<uint16_t> Open(uint16_t port) override;
  void Close() override;
  Status SetMark(uint32_t mark) override;
  size_t receiver_count() const override { return 1; }
  int receiver_fd(size_t) const override { return event_fd_.get(); }
  Result<size_t> Receive(size_t receiver, std::span<RecvPacket> out) override;
  Status Send(std::span<const ByteSpan> datagrams, const Endpoint& to) override;
  size_t BatchSize() const override { return kIdealBatchSize; }

  // This bind's endpoint (address + bound port).
  Endpoint local() const;
  uint32_t mark() const;
  size_t sent() const;
  // Datagrams delivered to this bind and not yet received.
  size_t queued() const;
  // While paused, Receive() hands out nothing and deliveries pile up (a deep socket queue).
  void set_paused(bool paused);
  // While non-zero, Send() fails with this errno and sends nothing (e.g. ENOBUFS: a full
  // socket buffer or device queue).
  void set_send_errno(int code);
  // Receive losses to report (what a kernel socket counts for a full buffer or truncation).
  void set_receive_losses(ReceiveLosses losses);
  ReceiveLosses receive_losses() const override;

 private:
  friend class FakeNetwork;
  void Enqueue(const Endpoint& from, ByteSpan data);

  FakeNetwork& network_;
  std::string address_;
  UniqueFd event_fd_;
  mutable std::mutex mu_;
  uint16_t port_ = 0;                                            // guarded by mu_
  uint32_t mark_ = 0;                                            // guarded by mu_
  size_t sent_ = 0;                                              // guarded by mu_
  bool paused_ = false;                                          // guarded by mu_
  int send_errno_ = 0;                                           // guarded by mu_
  ReceiveLosses losses_;                                         // guarded by mu_
  std::deque<std::pair<Endpoint, std::vector<uint8_t>>> queue_;  // guarded by mu_
  std::vector<std::vector<uint8_t>> handed_out_;                 // buffers of the last Receive
};

}  // namespace tundra::transport
