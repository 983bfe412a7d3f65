// Error: what failed (the call and the object) and why (an errno value and/or a message).
//
//   ErrnoError("ioctl(TUNSETIFF) tun%d")  -> "ioctl(TUNSETIFF) tun%d: Operation not permitted"
//   InvalidArgument("device name 'x...' is longer than 15 bytes")
//
// Errors are values (see result.h); project code never throws.
#pragma once

#include <cerrno>
#include <string>
#include <string_view>

namespace tundra {

class Error {
 public:
  Error() = default;
  // `code` is an errno value (0 when the failure has no errno); `context` names what failed.
  Error(int code, std::string context, std::string detail = {})
      : code_(code), context_(std::move(context)), detail_(std::move(detail)) {}

  int code() const { return code_; }
  const std::string& context() const { return context_; }
  const std::string& detail() const { return detail_; }

  // "context: detail" or "context: strerror(code)"; what the CLI prints.
  std::string message() const;

  // Prefixes the context: Error(EPERM,"ioctl(X)").Wrap("dev add foo") -> "dev add foo: ioctl(X):
  // ...".
  Error Wrap(std::string_view outer) const&;
  Error Wrap(std::string_view outer) &&;

 private:
  int code_ = 0;
  std::string context_;
  std::string detail_;
};

// Captures the current errno. Call immediately after the failing call.
Error ErrnoError(std::string_view call);
// Same, with an explicit errno (e.g. from a netlink NLMSG_ERROR or a pthread function).
Error ErrnoError(std::string_view call, int err);
// A validation error: EINVAL with a human message naming what was wrong.
Error InvalidArgument(std::string message);
// A generic error with a code and message.
Error MakeError(int code, std::string message);

}  // namespace tundra
