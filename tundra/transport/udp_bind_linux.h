// UdpBind: IPv4 and IPv6 UDP sockets on one port (wireguard-go conn/bind_std.go).
//
// - recvmmsg/sendmmsg batches; receive is MSG_DONTWAIT, send blocks (backpressure).
// - IP_PKTINFO / IPV6_RECVPKTINFO: each received packet's local address and interface become
//   the endpoint's sticky source, and sends go out from it (a source that vanished is retried
//   without).
// - UDP GRO on receive (coalesced datagrams split without copying) and UDP GSO on send (runs of
//   equal-size datagrams to one endpoint leave in one sendmsg), each detected at Open() and
//   switched off if the kernel refuses it.
// - Socket options: the ones the bind depends on fail Open() with the call's name; the ones that
//   only make it faster are logged and counted (options_unavailable()) when refused.
// - No IPv6 on the host: IPv4 only.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <memory>
#include <vector>

#include "tundra/base/unique_fd.h"
#include "tundra/transport/bind.h"

namespace tundra::transport {

struct UdpBindOptions {
  // Datagrams per recvmmsg: fewer than kIdealBatchSize because each slot holds a whole
  // 64 KiB GRO burst (2 sockets x 64 slots = 8 MiB); a burst's segments are handed out in
  // batches of whatever size the caller offers.
  size_t batch = 64;
  bool udp_gro = true;
  bool udp_gso = true;
  int socket_buffer = 7 << 20;  // SO_RCVBUF / SO_SNDBUF, as wireguard-go
};

class UdpBind final : public Bind {
 public:
  explicit UdpBind(UdpBindOptions options = {});
  ~UdpBind() override;

  Result<uint16_t> Open(uint16_t port) override;
  void Close() override;
  Status SetMark(uint32_t mark) override;
  size_t receiver_count() const override { return receivers_.size(); }
  int receiver_fd(size_t i) const override;
  Result<size_t> Receive(size_t receiver, std::span<RecvPacket> out) override;
  Status Send(std::span<const ByteSpan> datagrams, const Endpoint& to) override;
  size_t BatchSize() const override { return options_.batch; }

  uint16_t port() const { return port_; }
  bool gro_enabled(size_t receiver) const;
  bool gso_enabled() const { return gso_.load(std::memory_order_relaxed); }
  // Datagrams dropped on receive because they did not fit (MSG_TRUNC).
  uint64_t truncated() const { return truncated_.load(std::memory_order_relaxed); }
  // Datagrams the kernel dropped for a full receive buffer of one of our sockets, as
  // SO_RXQ_OVFL reports them (with the next datagram received after the drops).
  uint64_t buffer_overflows() const { return overflows_.load(std::memory_order_relaxed); }
  ReceiveLosses receive_losses() const override { return {buffer_overflows(), truncated()}; }
  // Optional socket options the kernel refused at Open() (socket buffers, UDP_GRO; see Open).
  uint64_t options_unavailable() const {
    return options_unavailable_.load(std::memory_order_relaxed);
  }

 private:
  struct Receiver;
  Status SendRun(int fd, const Endpoint& to, bool with_source, std::span<const ByteSpan> run,
                 size_t segment);

  UdpBindOptions options_;
  uint16_t port_ = 0;
  std::vector<std::unique_ptr<Receiver>> receivers_;  // [0] IPv4, [1] IPv6 when available
  int fd4_ = -1;                                      // borrowed from receivers_
  int fd6_ = -1;
  std::atomic<bool> gso_{false};
  // Runs of datagrams larger than this are not offloaded (EMSGSIZE: beyond the path MTU).
  std::atomic<size_t> gso_segment_limit_{SIZE_MAX};
  std::atomic<uint64_t> truncated_{0};
  std::atomic<uint64_t> overflows_{0};
  std::atomic<uint64_t> options_unavailable_{0};
};

}  // namespace tundra::transport
