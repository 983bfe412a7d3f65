#include "tundra/tun/fake_tun.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "tundra/base/check.h"

namespace tundra::tun {

Result<std::unique_ptr<FakeTun>> FakeTun::Create(std::string name, Options options) {
  UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!fd) return ErrnoError("eventfd(" + name + ")");
  return std::unique_ptr<FakeTun>(new FakeTun(std::move(name), options, std::move(fd)));
}

FakeTun::FakeTun(std::string name, Options options, UniqueFd event_fd)
    : name_(std::move(name)), options_(options), event_fd_(std::move(event_fd)) {}

void FakeTun::Connect(FakeTun& a, FakeTun& b) {
  a.peer_ = &b;
  b.peer_ = &a;
}

void FakeTun::SignalLocked() {
  if (signaled_) return;
  const uint64_t one = 1;
  TUNDRA_CHECK(::write(event_fd_.get(), &one, sizeof(one)) == sizeof(one));
  signaled_ = true;
}

void FakeTun::DrainSignalLocked() {
  if (!signaled_) return;
  uint64_t value;
  TUNDRA_CHECK(::read(event_fd_.get(), &value, sizeof(value)) == sizeof(value));
  signaled_ = false;
}

bool FakeTun::Inject(ByteSpan packet) {
  std::lock_guard lock(mu_);
  if (closed_ || pending_.size() >= options_.max_pending) {
    drops_.Add(TunDropReason::kQueueFull);
    return false;
  }
  pending_.emplace_back(packet.begin(), packet.end());
  SignalLocked();
  return true;
}

size_t FakeTun::pending() const {
  std::lock_guard lock(mu_);
  return pending_.size();
}

Result<size_t> FakeTun::Read(std::span<const MutableByteSpan> bufs, std::span<size_t> sizes,
                             size_t offset) {
  std::lock_guard lock(mu_);
  if (closed_) return ErrnoError("read(" + name_ + ")", EBADFD);
  const size_t want = std::min(bufs.size(), sizes.size());
  size_t count = 0;
  while (count < want && !pending_.empty()) {
    std::vector<uint8_t> packet = std::move(pending_.front());
    pending_.pop_front();
    const MutableByteSpan buf = bufs[count];
    TUNDRA_CHECK(offset < buf.size());
    if (packet.size() > buf.size() - offset) {
      drops_.Add(TunDropReason::kTruncated);
      continue;
    }
    std::memcpy(buf.data() + offset, packet.data(), packet.size());
    sizes[count++] = packet.size();
  }
  if (pending_.empty()) DrainSignalLocked();
  return count;
}

Result<size_t> FakeTun::Write(std::span<const MutableByteSpan> bufs, size_t offset) {
  size_t written = 0;
  {
    std::lock_guard lock(mu_);
    if (closed_) return ErrnoError("write(" + name_ + ")", EBADFD);
  }
  for (const MutableByteSpan& buf : bufs) {
    if (buf.size() <= offset) {
      drops_.Add(TunDropReason::kBadPacket);
      continue;
    }
    const ByteSpan packet = ByteSpan(buf).subspan(offset);
    if (peer_ != nullptr) peer_->Inject(packet);
    if (options_.collect_written) {
      std::lock_guard lock(mu_);
      written_.emplace_back(packet.begin(), packet.end());
    }
    ++written;
  }
  written_cv_.notify_all();
  return written;
}

std::vector<std::vector<uint8_t>> FakeTun::TakeWritten() {
  std::lock_guard lock(mu_);
  return std::exchange(written_, {});
}

bool FakeTun::WaitForWritten(size_t count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return written_cv_.wait_for(lock, timeout, [&] { return written_.size() >= count; });
}

void FakeTun::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  pending_.clear();
  SignalLocked();  // wake the reader so it sees the error
}

}  // namespace tundra::tun
