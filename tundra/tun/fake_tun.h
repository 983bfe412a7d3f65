// FakeTun: an in-memory TunDevice for tests (wireguard-go tuntest's ChannelTUN).
//
//   auto tun = FakeTun::Create("tun0").value();
//   tun->Inject(packet);               // appears on the next Read(); poll_fd() becomes readable
//   daemon.Run(...);                   // reads it, writes replies
//   auto out = tun->TakeWritten();     // what the code under test wrote
//
// poll_fd() is an eventfd that is readable exactly while injected packets are pending.
// Connect(a, b) makes what one side writes appear as the other side's input.
// Thread-safe: the test thread may Inject/TakeWritten while another thread Reads/Writes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tundra/base/unique_fd.h"
#include "tundra/tun/tun_device.h"

namespace tundra::tun {

class FakeTun final : public TunDevice {
 public:
  struct Options {
    size_t batch_size = kIdealBatchSize;
    size_t max_pending = 1024;  // injected packets beyond this are dropped (kQueueFull)
    bool collect_written = true;
  };

  static Result<std::unique_ptr<FakeTun>> Create(std::string name, Options options);
  static Result<std::unique_ptr<FakeTun>> Create(std::string name) { return Create(name, {}); }
  // Writes on `a` become input of `b` and vice versa. Both must outlive the connection.
  static void Connect(FakeTun& a, FakeTun& b);

  // TunDevice.
  Result<size_t> Read(std::span<const MutableByteSpan> bufs, std::span<size_t> sizes,
                      size_t offset) override;
  Result<size_t> Write(std::span<const MutableByteSpan> bufs, size_t offset) override;
  size_t BatchSize() const override { return options_.batch_size; }
  int poll_fd() const override { return event_fd_.get(); }
  const std::string& name() const override { return name_; }
  const TunDropCounters& drops() const override { return drops_; }

  // Queues a packet for Read(). False (and a kQueueFull drop) when the queue is full.
  bool Inject(ByteSpan packet);
  size_t pending() const;
  // Everything written so far (and forgets it).
  std::vector<std::vector<uint8_t>> TakeWritten();
  // Waits until at least `count` written packets are collected; false on timeout.
  bool WaitForWritten(size_t count, std::chrono::milliseconds timeout);
  // Simulates deletion of the interface: Read/Write fail with EBADFD, poll_fd() is readable.
  void Close();

 private:
  FakeTun(std::string name, Options options, UniqueFd event_fd);
  void SignalLocked();
  void DrainSignalLocked();

  const std::string name_;
  const Options options_;
  UniqueFd event_fd_;
  TunDropCounters drops_;
  FakeTun* peer_ = nullptr;  // set by Connect; must outlive this

  mutable std::mutex mu_;
  std::condition_variable written_cv_;
  std::deque<std::vector<uint8_t>> pending_;   // guarded by mu_
  std::vector<std::vector<uint8_t>> written_;  // guarded by mu_
  bool signaled_ = false;                      // guarded by mu_: eventfd counter is non-zero
  bool closed_ = false;                        // guarded by mu_
};

}  // namespace tundra::tun
