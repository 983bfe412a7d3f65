#include "tundra/base/error.h"

#include <cstring>

namespace tundra {

std::string Error::message() const {
  std::string out = context_;
  std::string why =
      !detail_.empty() ? detail_ : (code_ != 0 ? std::strerror(code_) : std::string());
  if (!why.empty()) {
    if (!out.empty()) out += ": ";
    out += why;
  }
  if (out.empty()) out = "unknown error";
  return out;
}

Error Error::Wrap(std::string_view outer) const& {
  Error copy = *this;
  return std::move(copy).Wrap(outer);
}

Error Error::Wrap(std::string_view outer) && {
  if (!outer.empty()) {
    context_ = context_.empty() ? std::string(outer) : std::string(outer) + ": " + context_;
  }
  return std::move(*this);
}

Error ErrnoError(std::string_view call) { return ErrnoError(call, errno); }

Error ErrnoError(std::string_view call, int err) { return Error(err, std::string(call)); }

Error InvalidArgument(std::string message) { return Error(EINVAL, {}, std::move(message)); }

Error MakeError(int code, std::string message) { return Error(code, {}, std::move(message)); }

}  // namespace tundra
