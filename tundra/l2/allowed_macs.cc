#include "tundra/l2/allowed_macs.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace tundra::l2 {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string MacPrefix::ToString() const {
  if (length == 48) return address.ToString();
  return fmt::format("{}/{}", address.ToString(), length);
}

Result<MacPrefix> ParseMacPrefix(std::string_view text) {
  text = Trim(text);
  MacPrefix p;
  std::string_view mac_text = text;
  const size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    mac_text = text.substr(0, slash);
    const std::string_view len_text = text.substr(slash + 1);
    unsigned len = 0;
    auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
    if (len_text.empty() || ec != std::errc() || ptr != len_text.data() + len_text.size() ||
        len > 48) {
      return InvalidArgument(
          fmt::format("'{}': the prefix length must be a number from 0 to 48", text));
    }
    p.length = uint8_t(len);
  }
  auto mac = MacAddress::Parse(mac_text);
  if (!mac.has_value()) return std::move(mac).error();
  p.address = *mac;
  if ((p.address.value() & ~p.mask()) != 0) {
    return InvalidArgument(fmt::format(
        "'{}' has bits set beyond its /{} prefix (did you mean {}?)", text, p.length,
        MacPrefix{MacAddress::FromU64(p.address.value() & p.mask()), p.length}.ToString()));
  }
  return p;
}

Status AllowedMacs::Add(const MacPrefix& prefix) {
  if (std::find(prefixes_.begin(), prefixes_.end(), prefix) != prefixes_.end()) return {};
  if (prefixes_.size() >= kMaxAllowedMacs) {
    return InvalidArgument(
        fmt::format("AllowedMACs: more than {} entries for one peer", kMaxAllowedMacs));
  }
  prefixes_.push_back(prefix);
  return {};
}

Status AllowedMacs::AddList(std::string_view list) {
  AllowedMacs next = *this;
  while (true) {
    const size_t comma = list.find(',');
    auto p = ParseMacPrefix(list.substr(0, comma));
    if (!p.has_value()) return std::move(p).error();
    if (auto s = next.Add(*p); !s.has_value()) return s;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  *this = std::move(next);
  return {};
}

bool AllowedMacs::Allows(MacAddress mac) const {
  for (const MacPrefix& p : prefixes_) {
    if (p.Contains(mac)) return true;
  }
  return false;
}

}  // namespace tundra::l2
