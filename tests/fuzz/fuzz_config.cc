// Fuzz target: the config-file parser (tundra/config: TokenizeIni, ParseConfig, ToDeviceUpdate;
// public API only). The input is a whole wg-quick config file. Invariants:
// - every error names the file and a line ("fuzz.conf:N", N a line of the input) and says
//   what is wrong;
// - no error carries key material: the value of a PrivateKey/PresharedKey line or the text
//   of a line without '=' (16 characters or more), or a key name longer than 24 characters
//   (a base64 key pasted alone: its '=' padding makes it a "key"), never appears in an error
//   unless it is found elsewhere in the input. A secret the message contains is a leak when
//   it flows there: with its letters and digits changed (same length and character classes,
//   two different changes, each to a text found nowhere in the input) the error of the
//   changed input shows the changed text each time (a value that only happens to equal the
//   message's own words, "[Interface] PrivateKey: not", is not one);
// - tokenizing: lines are numbered 1, 2, ... in order, each `raw` is the input's line, and a
//   key/value line has a non-empty key with no '=' in it;
// - a file that parses becomes a DeviceUpdate with replace_peers, the interface's key, port
//   and fwmark, and every peer with its key, endpoint, keepalive and allowed IPs, in order.
// Key files are read from a directory that does not exist; an absolute or ".." path is not
// parsed (it could name a FIFO and block, or read the fuzzing host's files).
#include <strings.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/secret_leak.h"
#include "tundra/base/check.h"
#include "tundra/config/config.h"
#include "tundra/config/ini.h"

namespace tundra::fuzz {
namespace {

constexpr std::string_view kName = "fuzz.conf";
constexpr size_t kMinSecret = 16;
constexpr size_t kMaxShownName = 24;  // config/ini.cc: longer names are never shown

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool EndsWithNoCase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && EqualsNoCase(s.substr(s.size() - suffix.size()), suffix);
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    lines.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text = text.substr(nl + 1);
  }
  return lines;
}

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\v\f\n";
  const size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

// Texts of the input that must never be shown: key values and '='-less lines.
std::vector<std::string_view> Secrets(std::string_view input) {
  std::vector<std::string_view> out;
  auto add = [&](std::string_view secret) {
    const size_t first = input.find(secret);
    if (input.find(secret, first + 1) == std::string_view::npos) out.push_back(secret);  // unique
  };
  for (std::string_view raw : Lines(input)) {
    const std::string_view content = Trim(raw.substr(0, raw.find('#')));
    const size_t eq = content.find('=');
    std::string_view secret;
    if (eq == std::string_view::npos) {
      if (!content.empty() && content.front() != '[') secret = content;
    } else {
      const std::string_view key = Trim(content.substr(0, eq));
      if (EqualsNoCase(key, "PrivateKey") || EqualsNoCase(key, "PresharedKey")) {
        secret = Trim(content.substr(eq + 1));
      }
      // A base64 key alone on its line ends in '=': its body is the "key". Names up to
      // kMaxShownName characters may be shown (a key typed wrong); longer ones never.
      if (key.size() > kMaxShownName) add(key);
    }
    if (secret.size() >= kMinSecret) add(secret);
  }
  return out;
}

bool ReadsOutsideTheKeyDir(const config::IniFile& file);

// Key files are read from a directory that does not exist.
config::ParseOptions Options() {
  config::ParseOptions options;
  options.key_file_dir = "/nonexistent-tundra-fuzz";
  return options;
}

// The message of the first error the pipeline reports for `input`; nullopt when it parses
// (or is not parsed: a key file outside the key directory).
std::optional<std::string> FirstError(std::string_view input) {
  auto file = config::TokenizeIni(std::string(kName), input);
  if (!file.ok()) return file.error().message();
  if (ReadsOutsideTheKeyDir(*file)) return std::nullopt;
  auto parsed = config::ParseConfig(*file, Options());
  if (!parsed.ok()) return parsed.error().message();
  auto update = config::ToDeviceUpdate(*parsed);
  if (!update.ok()) return update.error().message();
  return std::nullopt;
}

void CheckError(const Error& e, std::string_view input, size_t line_count) {
  const std::string message = e.message();
  TUNDRA_CHECK(message.compare(0, kName.size() + 1, std::string(kName) + ":") == 0);
  // "fuzz.conf:N..." with 1 <= N <= the number of lines.
  size_t n = 0, i = kName.size() + 1;
  for (; i < message.size() && message[i] >= '0' && message[i] <= '9'; ++i) {
    n = n * 10 + size_t(message[i] - '0');
    TUNDRA_CHECK(n <= line_count);
  }
  TUNDRA_CHECK(i > kName.size() + 1 && n >= 1);
  TUNDRA_CHECK(!e.detail().empty());
  for (std::string_view secret : Secrets(input)) {
    TUNDRA_CHECK(!Leaks(secret, input, message, FirstError));
  }
}

bool ReadsOutsideTheKeyDir(const config::IniFile& file) {
  for (const config::IniLine& line : file.lines) {
    if (line.kind != config::IniLine::Kind::kKeyValue) continue;
    const std::string_view key(line.key.data(), line.key.size());
    const std::string_view value(line.value.data(), line.value.size());
    if (EndsWithNoCase(key, "KeyFile") &&
        (value.empty() || value.front() == '/' || value.find("..") != std::string_view::npos)) {
      return true;
    }
  }
  return false;
}

void CheckUpdate(const config::TunnelConfig& c, const device::DeviceUpdate& u) {
  TUNDRA_CHECK(u.replace_peers);
  TUNDRA_CHECK(u.private_key.has_value() == c.interface.private_key.has_value());
  if (u.private_key) TUNDRA_CHECK(u.private_key->Equals(*c.interface.private_key));
  TUNDRA_CHECK(u.listen_port == c.interface.listen_port);
  TUNDRA_CHECK(u.fwmark == c.interface.fwmark);
  TUNDRA_CHECK(u.peers.size() == c.peers.size());
  for (size_t i = 0; i < u.peers.size(); ++i) {
    const device::PeerUpdate& p = u.peers[i];
    const config::PeerConfig& pc = c.peers[i];
    TUNDRA_CHECK(p.public_key == pc.public_key);
    TUNDRA_CHECK(p.replace_allowed_ips && !p.remove);
    TUNDRA_CHECK(p.persistent_keepalive == pc.persistent_keepalive);
    TUNDRA_CHECK(p.endpoint.has_value() == pc.endpoint.has_value());
    if (p.endpoint) TUNDRA_CHECK(*p.endpoint == *pc.endpoint->numeric);
    TUNDRA_CHECK(p.allowed_ips.size() == pc.allowed_ips.size());
    for (size_t j = 0; j < p.allowed_ips.size(); ++j) {
      TUNDRA_CHECK(!p.allowed_ips[j].remove && p.allowed_ips[j].prefix == pc.allowed_ips[j]);
    }
  }
}

}  // namespace
}  // namespace tundra::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tundra;
  if (size > 64 * 1024) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t line_count = fuzz::Lines(input).size();
  auto file = config::TokenizeIni(std::string(fuzz::kName), input);
  if (!file.ok()) {
    fuzz::CheckError(file.error(), input, line_count);
    return 0;
  }
  const std::vector<std::string_view> raw = fuzz::Lines(input);
  TUNDRA_CHECK(file->lines.size() <= raw.size());
  for (size_t i = 0; i < file->lines.size(); ++i) {
    const config::IniLine& line = file->lines[i];
    TUNDRA_CHECK(line.number == i + 1);
    TUNDRA_CHECK(std::string_view(line.raw.data(), line.raw.size()) == raw[i]);
    if (line.kind == config::IniLine::Kind::kKeyValue) {
      const std::string_view key(line.key.data(), line.key.size());
      TUNDRA_CHECK(!key.empty() && key.find('=') == std::string_view::npos);
      TUNDRA_CHECK(line.section != config::Section::kNone);
    }
  }
  if (fuzz::ReadsOutsideTheKeyDir(*file)) return 0;
  auto parsed = config::ParseConfig(*file, fuzz::Options());
  if (!parsed.ok()) {
    fuzz::CheckError(parsed.error(), input, line_count);
    return 0;
  }
  auto update = config::ToDeviceUpdate(*parsed);  // no resolver: host names are errors
  if (!update.ok()) {
    fuzz::CheckError(update.error(), input, line_count);
    bool host_name = false;  // the only thing that can fail here
    for (const config::PeerConfig& p : parsed->peers) {
      host_name |= p.endpoint && !p.endpoint->numeric;
    }
    TUNDRA_CHECK(host_name);
    return 0;
  }
  fuzz::CheckUpdate(*parsed, *update);
  return 0;
}
