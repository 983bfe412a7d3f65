// A small command-line parser shared by every tundra subcommand.
//
//   ArgParser p("tundra dev add", "NAME", "Create a persistent TUN/TAP device.");
//   p.Option("mode", "MODE", "tun or tap (default tun)");
//   p.Flag("multi-queue", "create with IFF_MULTI_QUEUE");
//   TUNDRA_ASSIGN_OR_RETURN(ParsedArgs a, p.Parse(args, /*min_positional=*/1, /*max=*/1));
//
// Accepts `--name value`, `--name=value`, and `-h/--help` (ParsedArgs::help_requested()).
// Errors name the command and the offending argument; the caller prints them and exits 2.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tundra/base/result.h"

namespace tundra::cli {

// Exit codes used by every command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

class ParsedArgs {
 public:
  bool help_requested() const { return help_; }
  bool Has(const std::string& name) const { return values_.count(name) != 0; }
  std::optional<std::string> Get(const std::string& name) const;  // the last one given
  // Every value of an option given more than once, in order (--peer-up A --peer-up B).
  std::vector<std::string> GetAll(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  friend class ArgParser;
  bool help_ = false;
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> all_values_;
  std::vector<std::string> positional_;
};

class ArgParser {
 public:
  ArgParser(std::string command, std::string positional_usage, std::string summary);

  // An option taking a value: --name VALUE.
  ArgParser& Option(std::string name, std::string metavar, std::string help, char short_name = 0);
  // A boolean flag: --name.
  ArgParser& Flag(std::string name, std::string help, char short_name = 0);

  Result<ParsedArgs> Parse(std::span<const std::string> args, size_t min_positional,
                           size_t max_positional) const;
  std::string Usage() const;

 private:
  struct Spec {
    std::string name;
    std::string metavar;  // empty for flags
    std::string help;
    char short_name;
  };
  const Spec* Find(const std::string& name) const;
  const Spec* FindShort(char c) const;

  std::string command_;
  std::string positional_usage_;
  std::string summary_;
  std::vector<Spec> specs_;
};

// Prints `error` as "tundra: <message>" on stderr and returns `code`.
int ReportError(const Error& error, int code = kExitFailure);

}  // namespace tundra::cli
