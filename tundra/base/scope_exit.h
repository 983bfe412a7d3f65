// ScopeExit: runs a callable when the scope ends unless Cancel()ed (absl::Cleanup).
//
//   auto rollback = ScopeExit([&] { DeleteLink(name); });
//   TUNDRA_RETURN_IF_ERROR(Configure());   // rolls back on this path
//   rollback.Cancel();                     // success: keep what was built
#pragma once

#include <utility>

namespace tundra {

template <typename F>
class [[nodiscard]] ScopeExit {
 public:
  explicit ScopeExit(F f) : f_(std::move(f)) {}
  ~ScopeExit() {
    if (armed_) f_();
  }
  ScopeExit(ScopeExit&& other) noexcept : f_(std::move(other.f_)), armed_(other.armed_) {
    other.armed_ = false;
  }
  ScopeExit(const ScopeExit&) = delete;
  ScopeExit& operator=(const ScopeExit&) = delete;
  ScopeExit& operator=(ScopeExit&&) = delete;

  void Cancel() { armed_ = false; }

 private:
  F f_;
  bool armed_ = true;
};

}  // namespace tundra
