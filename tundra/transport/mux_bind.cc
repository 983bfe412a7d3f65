#include "tundra/transport/mux_bind.h"

namespace tundra::transport {

MuxBind::MuxBind(std::unique_ptr<Bind> udp, TcpOptions tcp_options)
    : udp_(std::move(udp)), tcp_(tcp_options) {}

MuxBind::~MuxBind() { Close(); }

Result<uint16_t> MuxBind::Open(uint16_t port) {
  TUNDRA_ASSIGN_OR_RETURN(udp_port_, udp_->Open(port));
  open_ = true;
  TUNDRA_RETURN_IF_ERROR(ApplyListener());
  return udp_port_;
}

void MuxBind::Close() {
  udp_->Close();
  tcp_.CloseAll();
  open_ = false;
}

Status MuxBind::SetMark(uint32_t mark) {
  TUNDRA_RETURN_IF_ERROR(udp_->SetMark(mark));
  return tcp_.SetMark(mark);
}

int MuxBind::receiver_fd(size_t receiver) const {
  if (receiver < udp_->receiver_count()) return udp_->receiver_fd(receiver);
  return receiver == udp_->receiver_count() ? tcp_.poll_fd() : -1;
}

Result<size_t> MuxBind::Receive(size_t receiver, std::span<RecvPacket> out) {
  if (receiver < udp_->receiver_count()) return udp_->Receive(receiver, out);
  return tcp_.Receive(out);
}

Status MuxBind::Send(std::span<const ByteSpan> datagrams, const Endpoint& to) {
  if (to.is_tcp()) return tcp_.Send(datagrams, to);
  return udp_->Send(datagrams, to);
}

Status MuxBind::SetTcpListener(std::optional<uint16_t> port) {
  listener_ = port;
  return ApplyListener();
}

Status MuxBind::ApplyListener() {
  if (!open_) return OkStatus();
  if (!listener_) {
    tcp_.StopListening();
    return OkStatus();
  }
  const uint16_t want = *listener_ != 0 ? *listener_ : udp_port_;
  if (tcp_.listen_port() == want && want != 0) return OkStatus();
  return tcp_.Listen(want);
}

}  // namespace tundra::transport
