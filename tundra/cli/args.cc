#include "tundra/cli/args.h"

#include <fmt/core.h>

namespace tundra::cli {

std::vector<std::string> ParsedArgs::GetAll(const std::string& name) const {
  auto it = all_values_.find(name);
  return it == all_values_.end() ? std::vector<std::string>() : it->second;
}

std::optional<std::string> ParsedArgs::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

ArgParser::ArgParser(std::string command, std::string positional_usage, std::string summary)
    : command_(std::move(command)),
      positional_usage_(std::move(positional_usage)),
      summary_(std::move(summary)) {}

ArgParser& ArgParser::Option(std::string name, std::string metavar, std::string help,
                             char short_name) {
  specs_.push_back({std::move(name), std::move(metavar), std::move(help), short_name});
  return *this;
}

ArgParser& ArgParser::Flag(std::string name, std::string help, char short_name) {
  specs_.push_back({std::move(name), {}, std::move(help), short_name});
  return *this;
}

const ArgParser::Spec* ArgParser::Find(const std::string& name) const {
  for (const Spec& s : specs_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const ArgParser::Spec* ArgParser::FindShort(char c) const {
  for (const Spec& s : specs_) {
    if (s.short_name != 0 && s.short_name == c) return &s;
  }
  return nullptr;
}

Result<ParsedArgs> ArgParser::Parse(std::span<const std::string> args, size_t min_positional,
                                    size_t max_positional) const {
  ParsedArgs out;
  bool only_positional = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (only_positional || a.size() < 2 || a[0] != '-') {
      out.positional_.push_back(a);
      continue;
    }
    if (a == "--") {
      only_positional = true;
      continue;
    }
    if (a == "-h" || a == "--help") {
      out.help_ = true;
      return out;
    }
    const Spec* spec = nullptr;
    std::optional<std::string> inline_value;
    std::string shown = a;
    if (a.rfind("--", 0) == 0) {
      std::string name = a.substr(2);
      if (auto eq = name.find('='); eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name = name.substr(0, eq);
        shown = "--" + name;
      }
      spec = Find(name);
    } else if (a.size() == 2) {
      spec = FindShort(a[1]);
    }
    if (spec == nullptr) {
      return InvalidArgument(fmt::format("{}: unknown option '{}' (see --help)", command_, shown));
    }
    if (spec->metavar.empty()) {
      if (inline_value) {
        return InvalidArgument(
            fmt::format("{}: option '--{}' takes no value", command_, spec->name));
      }
      out.values_[spec->name] = "";
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) {
        return InvalidArgument(fmt::format("{}: option '--{}' needs a value ({})", command_,
                                           spec->name, spec->metavar));
      }
      inline_value = args[++i];
    }
    out.values_[spec->name] = *inline_value;
    out.all_values_[spec->name].push_back(*inline_value);
  }
  if (out.positional_.size() < min_positional) {
    return InvalidArgument(fmt::format("{}: missing argument {} (usage: {} {})", command_,
                                       positional_usage_, command_, positional_usage_));
  }
  if (out.positional_.size() > max_positional) {
    return InvalidArgument(fmt::format("{}: unexpected argument '{}' (see --help)", command_,
                                       out.positional_[max_positional]));
  }
  return out;
}

std::string ArgParser::Usage() const {
  std::string u =
      fmt::format("Usage: {}{}{}{}\n\n{}\n", command_, specs_.empty() ? "" : " [OPTIONS]",
                  positional_usage_.empty() ? "" : " ", positional_usage_, summary_);
  if (!specs_.empty()) u += "\nOptions:\n";
  for (const Spec& s : specs_) {
    std::string left = s.short_name ? fmt::format("-{}, --{}", s.short_name, s.name)
                                    : fmt::format("    --{}", s.name);
    if (!s.metavar.empty()) left += " " + s.metavar;
    u += fmt::format("  {:<28} {}\n", left, s.help);
  }
  u += fmt::format("  {:<28} {}\n", "-h, --help", "show this help");
  return u;
}

int ReportError(const Error& error, int code) {
  fmt::print(stderr, "tundra: {}\n", error.message());
  return code;
}

}  // namespace tundra::cli
