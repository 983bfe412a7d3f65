// handshake_flood: sends WireGuard handshake initiations with a valid mac1 (and no mac2) for a
// responder's public key, from many source addresses, at a target rate, for a while; prints
// "SENT RATE". A test tool for hardening.sh FLOOD, not part of tundra.
//
//   handshake_flood PUBKEY_BASE64 DST_IP:PORT SRC_PREFIX FIRST COUNT RATE SECONDS
//   e.g. handshake_flood "$(cat b.pub)" 198.18.2.1:51821 198.18.2. 10 32 50000 6
#include <arpa/inet.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "tundra/base/unique_fd.h"
#include "tundra/crypto/key_text.h"
#include "tundra/crypto/random.h"
#include "tundra/proto/cookie.h"
#include "tundra/proto/messages.h"
#include "tundra/transport/endpoint.h"

int main(int argc, char** argv) {
  using namespace tundra;
  if (argc != 8) {
    std::fprintf(stderr, "usage: %s PUBKEY DST SRC_PREFIX FIRST COUNT RATE SECONDS\n", argv[0]);
    return 2;
  }
  auto pub = crypto::KeyFromBase64(argv[1]);
  auto dst = transport::Endpoint::Parse(argv[2]);
  if (!pub.ok() || !dst.ok()) {
    std::fprintf(stderr, "handshake_flood: bad public key or destination\n");
    return 2;
  }
  const int first = std::atoi(argv[4]), count = std::atoi(argv[5]);
  const double rate = std::atof(argv[6]), seconds = std::atof(argv[7]);

  proto::MessageInitiation msg;
  crypto::RandomBytes(proto::AsMutableBytes(msg));
  msg.type = uint32_t(proto::MessageType::kInitiation);
  proto::CookieJar jar;
  crypto::PublicKey key;
  std::copy(pub->begin(), pub->end(), key.begin());
  jar.SetRemotePublicKey(key);
  jar.AddMacs(proto::AsMutableBytes(msg), TimePoint{});  // mac1 valid, mac2 zero

  std::vector<UniqueFd> socks;
  for (int i = first; i < first + count; ++i) {
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in src{};
    src.sin_family = AF_INET;
    const std::string addr = std::string(argv[3]) + std::to_string(i);
    if (!fd.valid() || ::inet_pton(AF_INET, addr.c_str(), &src.sin_addr) != 1 ||
        ::bind(fd.get(), reinterpret_cast<sockaddr*>(&src), sizeof(src)) != 0) {
      std::perror(("handshake_flood: bind " + addr).c_str());
      return 1;
    }
    socks.push_back(std::move(fd));
  }
  constexpr int kBurst = 32;  // datagrams per sendmmsg
  std::vector<iovec> iov(kBurst, iovec{&msg, sizeof(msg)});
  std::vector<mmsghdr> msgs(kBurst);
  for (int i = 0; i < kBurst; ++i) {
    msgs[i].msg_hdr.msg_name = const_cast<sockaddr*>(dst->sockaddr_ptr());
    msgs[i].msg_hdr.msg_namelen = dst->socklen();
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  uint64_t sent = 0;
  for (size_t s = 0; Clock::now() < end; s = (s + 1) % socks.size()) {
    // Pace: never ahead of RATE per second.
    const double due = std::chrono::duration<double>(Clock::now() - start).count() * rate;
    if (double(sent) > due) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      continue;
    }
    const int n = ::sendmmsg(socks[s].get(), msgs.data(), kBurst, 0);
    if (n > 0) sent += uint64_t(n);
  }
  const double took = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("%llu %.0f\n", static_cast<unsigned long long>(sent), double(sent) / took);
  return 0;
}
