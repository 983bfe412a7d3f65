// MuxBind: one Bind over UDP and TCP (docs/tcp-transport.md). UDP goes to the wrapped bind
// (UdpBind, or FakeBind in tests) unchanged; endpoints whose transport is TCP go to a
// TcpTransport. Receivers: the UDP bind's, then one more whose fd is the TCP poll set. The TCP
// listener is off until SetTcpListener; with port 0 it follows the UDP port Open() binds.
#pragma once

#include <memory>
#include <optional>

#include "tundra/transport/bind.h"
#include "tundra/transport/tcp_transport.h"

namespace tundra::transport {

class MuxBind final : public Bind {
 public:
  explicit MuxBind(std::unique_ptr<Bind> udp, TcpOptions tcp_options = {});
  ~MuxBind() override;

  Result<uint16_t> Open(uint16_t port) override;
  void Close() override;
  Status SetMark(uint32_t mark) override;
  size_t receiver_count() const override { return udp_->receiver_count() + 1; }
  int receiver_fd(size_t receiver) const override;
  Result<size_t> Receive(size_t receiver, std::span<RecvPacket> out) override;
  Status Send(std::span<const ByteSpan> datagrams, const Endpoint& to) override;
  size_t BatchSize() const override { return udp_->BatchSize(); }

  Status SetTcpListener(std::optional<uint16_t> port) override;
  uint16_t tcp_listen_port() const override { return tcp_.listen_port(); }
  void MarkAuthenticated(const Endpoint& from) override { tcp_.MarkAuthenticated(from); }
  void SetOnConnected(std::function<void(const Endpoint&)> callback) override {
    tcp_.SetOnConnected(std::move(callback));
  }
  void AppendCounters(std::vector<std::pair<std::string, uint64_t>>& out) const override {
    tcp_.AppendCounters(out);
  }

  Bind& udp() { return *udp_; }
  TcpTransport& tcp() { return tcp_; }

 private:
  Status ApplyListener();

  std::unique_ptr<Bind> udp_;
  TcpTransport tcp_;
  std::optional<uint16_t> listener_;  // as configured
  bool open_ = false;
  uint16_t udp_port_ = 0;
};

}  // namespace tundra::transport
