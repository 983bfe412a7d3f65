// `tundra strip CONFIG`, as `wg-quick strip`: the part of a config file that `wg setconf`
// reads. Lines are printed as `read -r` gives them to wg-quick (leading and trailing spaces and
// tabs removed), comments and blank lines kept, and an extra newline at the end (wg-quick's
// `echo "$WG_CONFIG"`), so the output equals wg-quick's byte for byte on a wg-quick file.
// Dropped: wg-quick's keys (Address, DNS, MTU, Table, Pre/PostUp/Down, SaveConfig) and tundra's
// (keys.h); PrivateKeyFile and PresharedKeyFile become the PrivateKey/PresharedKey line `wg`
// reads, with the key from the file.
#pragma once

#include "tundra/base/secret_string.h"
#include "tundra/config/config.h"
#include "tundra/config/ini.h"

namespace tundra::config {

// `config` is ParseConfig(file): strip only prints what parsed.
SecretString Strip(const IniFile& file, const TunnelConfig& config);

}  // namespace tundra::config
