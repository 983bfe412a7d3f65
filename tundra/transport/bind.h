// Bind: the UDP side of the daemon (wireguard-go conn.Bind): batched, non-blocking receive
// from one or more sockets ("receivers"), batched send to one endpoint.
//
// Receive() fills RecvPackets whose data points into bind-owned buffers; they stay valid and
// writable (for in-place decryption) until the next Receive() on the same receiver. Send()
// blocks while the socket buffer is full (backpressure) rather than dropping.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tundra/base/batch.h"
#include "tundra/base/bytes.h"
#include "tundra/base/result.h"
#include "tundra/transport/endpoint.h"

namespace tundra::transport {

struct RecvPacket {
  MutableByteSpan data;
  Endpoint from;  // with the sticky source (the local address it arrived on) when known
};

class Bind {
 public:
  virtual ~Bind() = default;

  // (Re)binds on `port` (0 = random; the same port for every family). Returns the port.
  virtual Result<uint16_t> Open(uint16_t port) = 0;
  virtual void Close() = 0;
  // SO_MARK on every socket (0 = off).
  virtual Status SetMark(uint32_t mark) = 0;

  virtual size_t receiver_count() const = 0;
  virtual int receiver_fd(size_t receiver) const = 0;  // readable when Receive has packets
  // Non-blocking; 0 when nothing is waiting.
  virtual Result<size_t> Receive(size_t receiver, std::span<RecvPacket> out) = 0;
  // Sends every datagram to `to` in order.
  virtual Status Send(std::span<const ByteSpan> datagrams, const Endpoint& to) = 0;
  // How many packets callers should offer per Receive/Send call.
  virtual size_t BatchSize() const = 0;

  // Datagrams lost before Receive could hand them out, since the bind was created (monotonic,
  // across Open): the kernel dropped them for a full receive buffer, or they were truncated.
  struct ReceiveLosses {
    uint64_t buffer_full = 0;
    uint64_t truncated = 0;
  };
  virtual ReceiveLosses receive_losses() const { return {}; }
  // --- The TCP transport (docs/tcp-transport.md); UDP-only binds keep these defaults. ---
  // A TCP listener: nullopt = none, 0 = on the port Open() bound, else that port. Kept across
  // Open(); applied at once when open.
  virtual Status SetTcpListener(std::optional<uint16_t> port) {
    if (!port) return OkStatus();
    return MakeError(EOPNOTSUPP, "this bind has no TCP transport");
  }
  virtual uint16_t tcp_listen_port() const { return 0; }
  // The device authenticated a message that arrived from `from`: a TCP connection the peer
  // opened is bound to a peer from now on (out of the unauthenticated bound and timeout).
  virtual void MarkAuthenticated(const Endpoint& from) { (void)from; }
  // Called (from the receiving thread, inside Receive) when an outbound TCP connection to
  // `to` (connection() == 0) is established, first or again.
  virtual void SetOnConnected(std::function<void(const Endpoint& to)> callback) { (void)callback; }
  // The bind's own counters by name (tcp_*), for `tundra stats`.
  virtual void AppendCounters(std::vector<std::pair<std::string, uint64_t>>& out) const {
    (void)out;
  }
};

}  // namespace tundra::transport
