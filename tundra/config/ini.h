// The wg-quick INI format, tokenized line by line (wg-quick's parse_options, wg's config.c):
//
//   [Interface]              a section header: [Interface] or [Peer], any case
//   Key = Value  # comment   '#' starts a comment anywhere; the key is what comes before the
//                            first '=', the value what comes after; both are trimmed of
//                            whitespace (space, tab, CR, VT, FF)
//
// Keys are not interpreted here (config.h does that). Structural errors name file:line and never
// echo the line (it may hold a key). Lines are kept as read, for `tundra strip`.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tundra/base/result.h"
#include "tundra/base/secret_string.h"
#include "tundra/config/keys.h"

namespace tundra::config {

// The largest config file read (wg-quick has no bound; a file of this size holds ~5000 peers).
inline constexpr size_t kMaxConfigBytes = 1 << 20;

struct IniLine {
  enum class Kind { kBlank, kSection, kKeyValue };
  size_t number = 0;  // 1-based
  Kind kind = Kind::kBlank;
  Section section = Section::kNone;  // the section the line opens (kSection) or is in
  SecretString raw;                  // the line as read, without its '\n'
  SecretString key;                  // kKeyValue: trimmed, as written (any case)
  SecretString value;                // kKeyValue: comment removed, trimmed
};

struct IniFile {
  std::string name;  // the file's name as given: the "wg0.conf" of "wg0.conf:7: ..."
  std::vector<IniLine> lines;
};

// Tokenizes `text`, named `name` in errors.
Result<IniFile> TokenizeIni(std::string name, std::string_view text);
// Reads and tokenizes the file at `path` (at most kMaxConfigBytes); errors name the path.
Result<IniFile> ReadIniFile(const std::string& path);

// "name:line" for errors.
std::string Where(const IniFile& file, const IniLine& line);
// Whether `text` may be shown in an error: a short run of letters and digits (a key name
// typed wrong), never something that could be a base64 key.
bool IsShowableName(std::string_view text);

}  // namespace tundra::config
