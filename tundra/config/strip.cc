#include "tundra/config/strip.h"

#include "tundra/crypto/key_text.h"

namespace tundra::config {
namespace {

// What bash's `read -r line` removes from both ends with the default IFS.
constexpr std::string_view kReadIfs = " \t\n";

std::string_view TrimIfs(std::string_view s) {
  const size_t begin = s.find_first_not_of(kReadIfs);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kReadIfs) - begin + 1);
}

void AppendKeyLine(SecretString& out, std::string_view key, const crypto::Secret<32>& secret) {
  std::string text = crypto::KeyToBase64(secret.span());
  out.append(key).append(" = ").append(text).push_back('\n');
  SecureZero(text.data(), text.size());
}

}  // namespace

SecretString Strip(const IniFile& file, const TunnelConfig& config) {
  SecretString out;
  size_t peer = 0;  // index of the next [Peer]
  const PeerConfig* current = nullptr;
  for (const IniLine& line : file.lines) {
    if (line.kind == IniLine::Kind::kSection && line.section == Section::kPeer) {
      current = peer < config.peers.size() ? &config.peers[peer++] : nullptr;
    }
    if (line.kind == IniLine::Kind::kKeyValue) {
      const KeySpec* spec =
          FindKey(line.section, std::string_view(line.key.data(), line.key.size()));
      if (spec == nullptr) continue;  // not reached: ParseConfig refuses unknown keys
      if (spec->id == KeyId::kPrivateKeyFile && config.interface.private_key) {
        AppendKeyLine(out, SpecOf(KeyId::kPrivateKey).name, *config.interface.private_key);
        continue;
      }
      if (spec->id == KeyId::kPresharedKeyFile && current != nullptr && current->preshared_key) {
        AppendKeyLine(out, SpecOf(KeyId::kPresharedKey).name, *current->preshared_key);
        continue;
      }
      if (spec->kind != KeyKind::kWg) continue;
    }
    const std::string_view raw = TrimIfs(std::string_view(line.raw.data(), line.raw.size()));
    out.append(raw.data(), raw.size()).push_back('\n');
  }
  out.push_back('\n');
  return out;
}

}  // namespace tundra::config
