// Result<T> / Status: a small std::expected-shaped type (g++ 12 has no <expected>).
//
//   Result<UniqueFd> OpenTun(...);
//   TUNDRA_ASSIGN_OR_RETURN(UniqueFd fd, OpenTun(...));
//   TUNDRA_RETURN_IF_ERROR(SetMtu(...));
//
// Accessing value() of an error (or error() of a value) is a bug and aborts.
#pragma once

#include <cstdlib>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "tundra/base/error.h"

namespace tundra {

namespace internal {
[[noreturn]] void ResultAccessFailure(const char* what);
}

template <typename T>
class [[nodiscard]] Result {
 public:
  using value_type = T;

  Result(const T& v) : v_(std::in_place_index<0>, v) {}          // NOLINT: implicit like expected
  Result(T&& v) : v_(std::in_place_index<0>, std::move(v)) {}    // NOLINT
  Result(Error e) : v_(std::in_place_index<1>, std::move(e)) {}  // NOLINT
  template <typename U,
            typename = std::enable_if_t<
                std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, Result> &&
                !std::is_same_v<std::decay_t<U>, Error> && !std::is_same_v<std::decay_t<U>, T>>>
  Result(U&& u) : v_(std::in_place_index<0>, std::forward<U>(u)) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  bool ok() const { return has_value(); }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    if (!has_value()) internal::ResultAccessFailure(std::get<1>(v_).message().c_str());
    return std::get<0>(v_);
  }
  const T& value() const& {
    if (!has_value()) internal::ResultAccessFailure(std::get<1>(v_).message().c_str());
    return std::get<0>(v_);
  }
  T&& value() && {
    if (!has_value()) internal::ResultAccessFailure(std::get<1>(v_).message().c_str());
    return std::get<0>(std::move(v_));
  }
  const Error& error() const& {
    if (has_value()) internal::ResultAccessFailure("error() of a value");
    return std::get<1>(v_);
  }
  Error&& error() && {
    if (has_value()) internal::ResultAccessFailure("error() of a value");
    return std::get<1>(std::move(v_));
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  template <typename U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : e_(std::move(e)) {}  // NOLINT

  bool has_value() const { return !e_.has_value(); }
  bool ok() const { return has_value(); }
  explicit operator bool() const { return has_value(); }
  void value() const {
    if (!has_value()) internal::ResultAccessFailure(e_->message().c_str());
  }
  const Error& error() const& {
    if (has_value()) internal::ResultAccessFailure("error() of a value");
    return *e_;
  }
  Error&& error() && {
    if (has_value()) internal::ResultAccessFailure("error() of a value");
    return std::move(*e_);
  }

 private:
  std::optional<Error> e_;
};

using Status = Result<void>;

inline Status OkStatus() { return Status(); }

}  // namespace tundra

#define TUNDRA_INTERNAL_CONCAT2(a, b) a##b
#define TUNDRA_INTERNAL_CONCAT(a, b) TUNDRA_INTERNAL_CONCAT2(a, b)

// Returns the error of `expr` (a Result or Status) from the enclosing function.
#define TUNDRA_RETURN_IF_ERROR(expr)                                           \
  do {                                                                         \
    auto tundra_status_ = (expr);                                              \
    if (!tundra_status_.has_value()) return std::move(tundra_status_).error(); \
  } while (0)

// TUNDRA_ASSIGN_OR_RETURN(auto fd, OpenTun(...)); declares/assigns lhs or returns the error.
#define TUNDRA_ASSIGN_OR_RETURN(lhs, expr) \
  TUNDRA_INTERNAL_ASSIGN_OR_RETURN(TUNDRA_INTERNAL_CONCAT(tundra_result_, __LINE__), lhs, expr)
#define TUNDRA_INTERNAL_ASSIGN_OR_RETURN(tmp, lhs, expr) \
  auto tmp = (expr);                                     \
  if (!tmp.has_value()) return std::move(tmp).error();   \
  lhs = std::move(tmp).value()
