// The leak oracle of the fuzz targets that check no secret reaches an output (fuzz_config:
// an error message; fuzz_uapi: the log): a secret found in the output is a leak only if the
// output follows it, that is, changing the secret in the input changes it in the output too
// (a key-shaped string that the output holds for another reason does not follow).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tundra::fuzz {

// `s` with every letter moved k on in its class and every digit k on (mod 10).
inline std::string Shifted(std::string_view s, int k) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = char('a' + (c - 'a' + k) % 26);
    if (c >= 'A' && c <= 'Z') c = char('A' + (c - 'A' + k) % 26);
    if (c >= '0' && c <= '9') c = char('0' + (c - '0' + k) % 10);
  }
  return out;
}

// Whether `secret` (found once in `input`) reaches `output`. `output_of(other_input)` is the
// output for an input (nullopt: none, which does not follow).
template <class OutputOf>
bool Leaks(std::string_view secret, std::string_view input, const std::string& output,
           OutputOf output_of) {
  if (output.find(secret) == std::string::npos) return false;
  int tried = 0;
  for (int k = 1; k < 26 && tried < 2; ++k) {
    const std::string changed = Shifted(secret, k);
    if (changed == secret || input.find(changed) != std::string_view::npos) continue;
    ++tried;
    std::string other(input);
    other.replace(input.find(secret), secret.size(), changed);
    const std::optional<std::string> again = output_of(std::string_view(other));
    if (!again || again->find(changed) == std::string::npos) return false;  // it did not follow
  }
  return true;  // followed both changes (or nothing could be changed: count it)
}

}  // namespace tundra::fuzz
