// tundra genkey | genpsk | pubkey: wg-compatible key tools. Keys go to stdout and come from
// stdin, never from argv.
#include <fmt/core.h>
#include <unistd.h>

#include <iostream>
#include <string>

#include "tundra/cli/args.h"
#include "tundra/cli/commands.h"
#include "tundra/crypto/key_text.h"
#include "tundra/crypto/random.h"
#include "tundra/crypto/x25519.h"

namespace tundra::cli {
namespace {

int NoArgs(const char* name, const char* summary, CommandArgs args) {
  ArgParser p(fmt::format("tundra {}", name), "", summary);
  auto parsed = p.Parse(args, 0, 0);
  if (!parsed.ok()) return ReportError(parsed.error(), kExitUsage);
  if (parsed->help_requested()) {
    fmt::print("{}", p.Usage());
    return kExitOk;
  }
  return -1;
}

void PrintKey(std::span<const uint8_t, 32> key) {
  std::string text = crypto::KeyToBase64(key) + "\n";
  ssize_t r = ::write(STDOUT_FILENO, text.data(), text.size());
  (void)r;
  SecureZero(text.data(), text.size());
}

}  // namespace

int RunGenKey(CommandArgs args) {
  if (int rc = NoArgs("genkey", "Print a new random private key (base64) on stdout.", args);
      rc >= 0) {
    return rc;
  }
  crypto::PrivateKey key = crypto::GeneratePrivateKey();
  PrintKey(key.span());
  return kExitOk;
}

int RunGenPsk(CommandArgs args) {
  if (int rc = NoArgs("genpsk", "Print a new random preshared key (base64) on stdout.", args);
      rc >= 0) {
    return rc;
  }
  crypto::SymmetricKey key;
  crypto::RandomBytes(key.span());
  PrintKey(key.span());
  return kExitOk;
}

int RunPubKey(CommandArgs args) {
  if (int rc =
          NoArgs("pubkey", "Read a private key (base64) on stdin; print its public key.", args);
      rc >= 0) {
    return rc;
  }
  std::string line;
  std::getline(std::cin, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  auto key = crypto::KeyFromBase64(line);
  SecureZero(line.data(), line.size());
  if (!key.ok()) return ReportError(key.error().Wrap("pubkey: stdin"));
  crypto::PrivateKey priv(*key);
  SecureZero(key->data(), key->size());
  crypto::ClampPrivateKey(priv);
  PrintKey(crypto::PublicFromPrivate(priv));
  return kExitOk;
}

}  // namespace tundra::cli
