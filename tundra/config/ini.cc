#include "tundra/config/ini.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <strings.h>
#include <unistd.h>

#include "tundra/base/unique_fd.h"

namespace tundra::config {
namespace {

// wg-quick trims [[:space:]]; wg's config.c drops isspace() characters.
constexpr std::string_view kSpace = " \t\r\v\f\n";
constexpr char kComment = '#';
constexpr size_t kMaxShownName = 24;  // a base64 key is 44 characters

std::string_view Trim(std::string_view s) {
  const size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

Section SectionOf(std::string_view header) {
  for (Section s : {Section::kInterface, Section::kPeer}) {
    const std::string_view name = SectionName(s);
    if (header.size() == name.size() &&
        ::strncasecmp(header.data(), name.data(), name.size()) == 0) {
      return s;
    }
  }
  return Section::kNone;
}

Error LineError(const std::string& name, size_t number, std::string what) {
  return Error(EINVAL, fmt::format("{}:{}", name, number), std::move(what));
}

}  // namespace

bool IsShowableName(std::string_view text) {
  if (text.empty() || text.size() > kMaxShownName) return false;
  for (char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string Where(const IniFile& file, const IniLine& line) {
  return fmt::format("{}:{}", file.name, line.number);
}

Result<IniFile> TokenizeIni(std::string name, std::string_view text) {
  IniFile file;
  file.name = std::move(name);
  Section section = Section::kNone;
  size_t number = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    // bash's `read -r line || [[ -n $line ]]` (wg-quick) skips a last, unterminated line of
    // spaces and tabs; so does this, for strip's sake (it would be blank anyway).
    if (nl == std::string_view::npos && raw.find_first_not_of(" \t") == std::string_view::npos) {
      break;
    }
    IniLine line;
    line.number = ++number;
    line.raw.assign(raw.data(), raw.size());
    const std::string_view content = raw.substr(0, raw.find(kComment));
    const std::string_view trimmed = Trim(content);
    if (trimmed.empty()) {
      line.section = section;
    } else if (trimmed.front() == '[') {
      section = SectionOf(trimmed);
      if (section == Section::kNone) {
        return LineError(file.name, line.number,
                         "unknown section header (want [Interface] or [Peer])");
      }
      line.kind = IniLine::Kind::kSection;
      line.section = section;
    } else {
      const size_t eq = trimmed.find('=');
      if (eq == std::string_view::npos) {
        return LineError(file.name, line.number, "not a 'Key = Value' line");
      }
      if (section == Section::kNone) {
        return LineError(file.name, line.number, "a key before any [Interface] or [Peer] line");
      }
      const std::string_view key = Trim(trimmed.substr(0, eq)),
                             value = Trim(trimmed.substr(eq + 1));
      if (key.empty()) return LineError(file.name, line.number, "a '=' without a key before it");
      line.kind = IniLine::Kind::kKeyValue;
      line.section = section;
      line.key.assign(key.data(), key.size());
      line.value.assign(value.data(), value.size());
    }
    file.lines.push_back(std::move(line));
  }
  return file;
}

Result<IniFile> ReadIniFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return ErrnoError(fmt::format("open {}", path));
  SecretString text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(fmt::format("read {}", path));
    if (n == 0) break;
    text.append(buf, size_t(n));
    if (text.size() > kMaxConfigBytes) {
      SecureZero(buf, sizeof(buf));
      return InvalidArgument(fmt::format("{}: larger than {} bytes", path, kMaxConfigBytes));
    }
  }
  SecureZero(buf, sizeof(buf));
  return TokenizeIni(path, std::string_view(text.data(), text.size()));
}

}  // namespace tundra::config
