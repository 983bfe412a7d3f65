// Fuzz target: the UAPI text protocol (tundra/uapi/protocol.h, public API only). The input is
// the body of a set=1 request, split into lines at '\n'. Invariants:
// - a refused request names an errno from protocol.h and says what was wrong; an accepted one
//   has no error text;
// - an invalid private_key/preshared_key value is never echoed into the error text (it goes to
//   the log);
// - the log: what the UAPI server logs for the request (the unknown-operation key of its first
//   line, the refusal's detail) is captured, and no key material reaches it: neither a
//   private_key/preshared_key value nor a run of 16+ key characters from a line without '='
//   or from the name part of a line (a key pasted without or as its name; a run of lowercase
//   letters only is a name, which may be shown), unless the text is found elsewhere in the
//   request. A secret the log contains is a leak when it flows there: with its letters and
//   digits changed (same length and classes, two different changes, each to a text found
//   nowhere in the request) the log of the changed request shows the changed text each time
//   (a value that only happens to equal the log's own words, "eration private_key" beside
//   "unknown operation private_key", is not one);
// - round trip: a request that parses becomes a DeviceStatus whose FormatGet output, without
//   its read-only lines, parses back to the same keys, port, fwmark, endpoints, keepalives and
//   allowed IPs (so get and set agree on every value's text form).
#include <sys/mman.h>
#include <unistd.h>

#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/fuzz_fixture.h"
#include "tests/fuzz/secret_leak.h"
#include "tundra/base/log.h"
#include "tundra/uapi/protocol.h"

namespace tundra::fuzz {
namespace {

std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t nl = text.find('\n', start);
    const size_t end = nl == std::string_view::npos ? text.size() : nl;
    lines.emplace_back(text.substr(start, end - start));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

bool KnownErrno(int e) {
  return e == uapi::kErrnoIo || e == uapi::kErrnoInvalid || e == uapi::kErrnoNoAno ||
         e == uapi::kErrnoProtocol || e == uapi::kErrnoAddrInUse;
}

// The value of a private_key/preshared_key line (16 or more hex digits, found nowhere else in
// the request) must not appear in the error text.
void CheckNoSecretEcho(std::string_view request, const std::vector<std::string>& lines,
                       const std::string& detail) {
  for (const std::string& line : lines) {
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string_view key(line.data(), eq), value(line.data() + eq + 1, line.size() - eq - 1);
    if (key != "private_key" && key != "preshared_key") continue;
    if (value.size() < 16 || value.find_first_not_of("0123456789abcdefABCDEF") != value.npos) {
      continue;
    }
    const size_t first = request.find(value);
    if (request.find(value, first + 1) != std::string_view::npos) continue;
    TUNDRA_CHECK(detail.find(value) == std::string::npos);
  }
}

// Captures what the process logs (stderr) while it lives, into a memfd.
class LogCapture {
 public:
  LogCapture() {
    static const int memfd = ::memfd_create("fuzz-uapi-log", MFD_CLOEXEC);
    TUNDRA_CHECK(memfd >= 0);
    fd_ = memfd;
    TUNDRA_CHECK(::ftruncate(fd_, 0) == 0 && ::lseek(fd_, 0, SEEK_SET) == 0);
    saved_ = ::dup(STDERR_FILENO);
    TUNDRA_CHECK(saved_ >= 0 && ::dup2(fd_, STDERR_FILENO) == STDERR_FILENO);
  }
  ~LogCapture() { Restore(); }
  std::string Take() {
    Restore();
    std::string out;
    char buf[4096];
    TUNDRA_CHECK(::lseek(fd_, 0, SEEK_SET) == 0);
    for (ssize_t n; (n = ::read(fd_, buf, sizeof(buf))) > 0;) out.append(buf, size_t(n));
    return out;
  }

 private:
  void Restore() {
    if (saved_ < 0) return;
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    saved_ = -1;
  }
  int fd_ = -1;
  int saved_ = -1;
};

bool KeyChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '+' ||
         c == '/';
}

// Key material in the request that the log must not carry (see the invariants above).
std::vector<std::string_view> KeyMaterial(std::string_view request,
                                          const std::vector<std::string>& lines) {
  std::vector<std::string_view> out;
  auto unique = [&](std::string_view s) {
    const size_t first = request.find(s);
    return request.find(s, first + 1) == std::string_view::npos;
  };
  auto runs = [&](std::string_view text) {
    for (size_t i = 0; i < text.size();) {
      size_t j = i;
      while (j < text.size() && KeyChar(text[j])) ++j;
      const std::string_view run = text.substr(i, j - i);
      // All lowercase letters is a (mistyped) name, which LoggableKey may show; a key in hex
      // or base64 has digits or capitals.
      const bool name = run.find_first_not_of("abcdefghijklmnopqrstuvwxyz") == run.npos;
      if (run.size() >= 16 && !name && unique(run)) out.push_back(run);
      i = j == i ? i + 1 : j;
    }
  };
  for (const std::string& line : lines) {
    const size_t eq = line.find('=');
    if (eq == std::string::npos) {
      runs(line);
      continue;
    }
    const std::string_view key(line.data(), eq), value(line.data() + eq + 1, line.size() - eq - 1);
    if ((key == "private_key" || key == "preshared_key") && value.size() >= 16 && unique(value)) {
      out.push_back(value);
    }
    runs(key);  // a key pasted where a name goes
  }
  return out;
}

// What uapi/server.cc logs for this request, at the level it would be seen with LOG_LEVEL=debug.
std::string LogOf(const std::vector<std::string>& lines, const uapi::SetRequest& req) {
  const LogLevel level = GetLogLevel();
  SetLogLevel(LogLevel::kDebug);
  LogCapture capture;
  if (!lines.empty()) {
    TUNDRA_LOG(kVerbose, "fuzz: UAPI: unknown operation {}", uapi::LoggableKey(lines[0]));
  }
  if (req.error != 0) TUNDRA_LOG(kError, "fuzz: UAPI set: {}", req.error_detail);
  std::string log = capture.Take();
  SetLogLevel(level);
  return log;
}

device::DeviceStatus StatusOf(const device::DeviceUpdate& u) {
  device::DeviceStatus s;
  s.private_key = u.private_key;
  s.listen_port = u.listen_port.value_or(0);
  s.fwmark = u.fwmark.value_or(0);
  for (const device::PeerUpdate& p : u.peers) {
    device::PeerStatus ps;
    ps.public_key = p.public_key;
    if (p.preshared_key) ps.preshared_key = *p.preshared_key;
    ps.endpoint = p.endpoint;
    ps.persistent_keepalive = p.persistent_keepalive.value_or(0);
    for (const device::AllowedIpChange& a : p.allowed_ips) {
      if (!a.remove) ps.allowed_ips.push_back(a.prefix);
    }
    s.peers.push_back(std::move(ps));
  }
  return s;
}

void CheckRoundTrip(const device::DeviceUpdate& first) {
  const device::DeviceStatus status = StatusOf(first);
  const auto text = uapi::FormatGet(status);  // a self-wiping string
  TUNDRA_CHECK(text.size() >= 9 && text.compare(text.size() - 9, 9, "errno=0\n\n") == 0);
  std::vector<std::string> lines;
  for (std::string& line : SplitLines(std::string_view(text).substr(0, text.size() - 9))) {
    TUNDRA_CHECK(line.find('=') != std::string::npos);
    const std::string_view key(line.data(), line.find('='));
    if (key == "last_handshake_time_sec" || key == "last_handshake_time_nsec" ||
        key == "tx_bytes" || key == "rx_bytes") {
      continue;
    }
    lines.push_back(std::move(line));
  }
  const uapi::SetRequest again = uapi::ParseSet(lines);
  TUNDRA_CHECK(again.error == 0);
  const device::DeviceUpdate& u = again.update;
  TUNDRA_CHECK(u.private_key.has_value() == status.private_key.has_value());
  if (u.private_key) TUNDRA_CHECK(u.private_key->Equals(*status.private_key));
  TUNDRA_CHECK(u.listen_port.value_or(0) == status.listen_port);
  TUNDRA_CHECK(u.fwmark.value_or(0) == status.fwmark);
  TUNDRA_CHECK(u.peers.size() == status.peers.size());
  for (size_t i = 0; i < u.peers.size(); ++i) {
    const device::PeerUpdate& p = u.peers[i];
    const device::PeerStatus& s = status.peers[i];
    TUNDRA_CHECK(p.public_key == s.public_key);
    TUNDRA_CHECK(p.preshared_key.has_value() && p.preshared_key->Equals(s.preshared_key));
    TUNDRA_CHECK(p.endpoint.has_value() == s.endpoint.has_value());
    if (p.endpoint) TUNDRA_CHECK(*p.endpoint == *s.endpoint);
    TUNDRA_CHECK(p.persistent_keepalive.value_or(0) == s.persistent_keepalive);
    TUNDRA_CHECK(p.allowed_ips.size() == s.allowed_ips.size());
    for (size_t j = 0; j < p.allowed_ips.size(); ++j) {
      TUNDRA_CHECK(!p.allowed_ips[j].remove);
      TUNDRA_CHECK(p.allowed_ips[j].prefix == s.allowed_ips[j]);
    }
  }
}

}  // namespace
}  // namespace tundra::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tundra;
  if (size > 64 * 1024) return 0;
  const std::string_view request(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string> lines = fuzz::SplitLines(request);
  const uapi::SetRequest req = uapi::ParseSet(lines);
  const std::string log = fuzz::LogOf(lines, req);
  TUNDRA_CHECK(log.find("UAPI") != std::string::npos || lines.empty());  // the capture works
  for (std::string_view secret : fuzz::KeyMaterial(request, lines)) {
    TUNDRA_CHECK(!fuzz::Leaks(secret, request, log, [](std::string_view other) {
      const std::vector<std::string> other_lines = fuzz::SplitLines(other);
      return std::optional<std::string>(fuzz::LogOf(other_lines, uapi::ParseSet(other_lines)));
    }));
  }
  if (req.error != 0) {
    TUNDRA_CHECK(fuzz::KnownErrno(req.error));
    TUNDRA_CHECK(!req.error_detail.empty());
    fuzz::CheckNoSecretEcho(request, lines, req.error_detail);
    return 0;
  }
  TUNDRA_CHECK(req.error_detail.empty());
  fuzz::CheckRoundTrip(req.update);
  return 0;
}
