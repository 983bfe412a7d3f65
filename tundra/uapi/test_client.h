// For tests only: a raw UAPI client that talks to a socket byte by byte (no parsing), so that a
// test can send what `wg` never would (half requests, garbage, floods) and see the exact reply.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "tundra/base/unique_fd.h"

namespace tundra::uapi::testing {

inline constexpr std::chrono::milliseconds kReplyWait{5000};

// A connected AF_UNIX stream socket (an invalid fd, with a gtest failure, when connect fails).
UniqueFd ConnectUnix(const std::string& path);

// Sends all of `data` unless a wait for room exceeds `timeout`; false then or on an error.
bool SendAll(int fd, std::string_view data, std::chrono::milliseconds timeout = kReplyWait);

// The bytes up to and including the first blank line, or all until EOF or `timeout`.
std::string ReadReply(int fd, std::chrono::milliseconds timeout = kReplyWait);

}  // namespace tundra::uapi::testing
