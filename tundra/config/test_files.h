// Test-only helpers of config_test: a private temporary directory holding files of a mode.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace tundra::config::testing {

// Keys made with `wg genkey` / `wg pubkey` / `wg genpsk` for these tests only.
inline constexpr char kPrivate1[] = "WMIbYwtxBN5Qm2yNK1bVTf6tqGt+j+UkrUcm7gIM80k=";
inline constexpr char kPublic1[] = "dX9SCRhzoSE1woL8yRvekqQ0a+SA8ERPiS6/H9zi2m8=";
inline constexpr char kPublic2[] = "FELY6AdprhGz09W29ieAHOkk+q/nWNxe2mm00KoJKgk=";
inline constexpr char kPublic3[] = "TVBXrlY9RpjpUu1s5+wES/M3BIfue+50ecQ0y35jQ2w=";
inline constexpr char kPsk[] = "pWLZqdFvCTn0PLISlbkb1MbEoB2oNmoZgcyzr5ywNCk=";

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tundra-config-test.XXXXXX";
    const char* made = ::mkdtemp(tmpl);
    EXPECT_NE(made, nullptr);
    if (made != nullptr) path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

  // Writes `name` with `text` and exactly `mode`; returns its path.
  std::string Write(const std::string& name, const std::string& text, mode_t mode = 0600) const {
    const std::string file = path_ + "/" + name;
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0) << file;
    if (fd < 0) return file;
    EXPECT_EQ(::write(fd, text.data(), text.size()), ssize_t(text.size()));
    EXPECT_EQ(::fchmod(fd, mode), 0);
    ::close(fd);
    return file;
  }

 private:
  std::string path_;
};

}  // namespace tundra::config::testing
