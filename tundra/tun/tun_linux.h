// LinuxTun: one queue of a Linux TUN/TAP device opened through /dev/net/tun.
//
// Setup order (every step names the device in its error; nothing is left behind on failure):
//   1. validate the name       ("tun0" or a template "tun%d": 1..15 bytes, no '/', ':' or space)
//   2. open /dev/net/tun       O_RDWR|O_CLOEXEC, through the KernelInterface
//   3. TUNGETFEATURES          every requested IFF_* feature must be supported
//   4. TUNSETIFF               creates or attaches; the real name comes back in the ifreq
//   5. TUNGETIFF               the flags actually in force (an attached device keeps its own)
//   6. TUNSETOWNER/TUNSETGROUP
//   7. O_NONBLOCK              before the fd can reach epoll
//   8. TUNSETPERSIST(1)        LAST: a failure in 2-7 closes the fd and the kernel removes the
//                              device it created (or just detaches from an existing one).
//
// Data path: Read() loops read()/readv() until EAGAIN or the batch is full, stripping the PI
// and virtio-net headers; Write() does one write() per packet, putting the headers in the
// caller's headroom (writev() when the headroom is too small). Would-block on write is not
// waited for: the TUN write path only returns EAGAIN when the kernel cannot allocate an skb, and
// the packet is counted as kWriteWouldBlock.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "tundra/base/kernel.h"
#include "tundra/base/result.h"
#include "tundra/base/unique_fd.h"
#include "tundra/tun/pi_header.h"
#include "tundra/tun/sysfs.h"
#include "tundra/tun/tun_device.h"

namespace tundra::tun {

enum class TunMode { kTun, kTap };
std::string_view TunModeName(TunMode mode);  // "tun" / "tap"
// Parses "tun" or "tap".
Result<TunMode> ParseTunMode(std::string_view text);

inline constexpr char kTunCloneDevice[] = "/dev/net/tun";

struct TunOptions {
  std::string name;  // "tun0", or a template such as "tun%d" (the kernel picks the number)
  TunMode mode = TunMode::kTun;
  bool no_pi = true;         // IFF_NO_PI: no 4-byte PI header on each packet
  bool multi_queue = false;  // IFF_MULTI_QUEUE: several fds (queues) on one device
  bool vnet_hdr = false;     // IFF_VNET_HDR: virtio_net_hdr on each packet (offloads)
  bool exclusive = false;    // IFF_TUN_EXCL: fail with EBUSY if the device already exists
  bool persist = false;      // TUNSETPERSIST(1) once everything else succeeded
  std::optional<uid_t> owner;
  std::optional<gid_t> group;
  size_t batch_size = 64;                      // BatchSize()
  std::string clone_device = kTunCloneDevice;  // what Open() opens
  std::string sysfs_root{kSysClassNet};        // only used to explain TUNSETIFF failures
};

// Checks an interface name or template as the kernel's dev_valid_name() does, with an error
// naming it: non-empty, at most 15 bytes, not "." or "..", no '/', ':' or whitespace, and at
// most one '%' which must be "%d".
Status ValidateInterfaceName(std::string_view name);
// The ifr_flags TUNSETIFF gets for `options` (IFF_TUN|IFF_TAP, IFF_NO_PI, ...).
uint16_t TunSetIffFlags(const TunOptions& options);

class LinuxTun final : public TunDevice {
 public:
  // Opens options.clone_device and sets the queue up. `kernel` must outlive the result.
  static Result<std::unique_ptr<LinuxTun>> Open(const TunOptions& options,
                                                KernelInterface& kernel = RealKernel());
  // Same, on an already-open /dev/net/tun descriptor (e.g. opened by a privileged parent and
  // inherited). Takes ownership of `tun_fd`. The descriptor belongs to the network namespace it
  // was opened in: TUNSETIFF looks the name up (and creates it) there, not in the caller's.
  static Result<std::unique_ptr<LinuxTun>> OpenOnFd(UniqueFd tun_fd, const TunOptions& options,
                                                    KernelInterface& kernel = RealKernel());

  ~LinuxTun() override = default;
  LinuxTun(const LinuxTun&) = delete;
  LinuxTun& operator=(const LinuxTun&) = delete;

  // TunDevice.
  Result<size_t> Read(std::span<const MutableByteSpan> bufs, std::span<size_t> sizes,
                      size_t offset) override;
  Result<size_t> Write(std::span<const MutableByteSpan> bufs, size_t offset) override;
  size_t BatchSize() const override { return batch_size_; }
  int poll_fd() const override { return fd_.get(); }
  const std::string& name() const override { return name_; }
  const TunDropCounters& drops() const override { return drops_; }

  // Read() that also reports each packet's PI header (flags, proto). With IFF_NO_PI, `info[i]`
  // is {0, 0}. Reads at most info.size() packets.
  Result<size_t> Read(std::span<const MutableByteSpan> bufs, std::span<size_t> sizes, size_t offset,
                      std::span<PacketInfo> info);

  // Opens one more queue of this multi-queue device (same name and flags, no owner/persist).
  Result<std::unique_ptr<LinuxTun>> OpenQueue() const;
  // TUNSETQUEUE with IFF_ATTACH_QUEUE / IFF_DETACH_QUEUE. A detached queue receives nothing
  // (the kernel purges its backlog) and its Read() returns 0.
  Status SetQueueAttached(bool attached);
  bool queue_attached() const { return attached_; }

  // TUNSETPERSIST: a persistent device outlives its last queue.
  Status SetPersist(bool persist);
  // TUNSETOFFLOAD (TUN_F_* bits, see vnet_hdr.h): applies to the whole device. Needs vnet_hdr.
  Status SetOffload(unsigned flags);
  // TUNSETVNETHDRSZ (>= 10): the size of the header Read strips and Write emits.
  Status SetVnetHdrSize(int size);

  // The IFF_* flags in force after setup (TUNGETIFF, including IFF_PERSIST), with IFF_NO_PI as
  // requested (TUNGETIFF cannot report it: the bit doubles as IFF_NOFILTER).
  uint16_t flags() const { return flags_; }
  TunMode mode() const { return mode_; }
  bool has_pi() const { return pi_size_ != 0; }
  bool vnet_hdr() const { return vnet_hdr_size_ != 0; }
  size_t vnet_hdr_size() const { return vnet_hdr_size_; }
  bool persistent() const;
  bool multi_queue() const;

 private:
  LinuxTun(KernelInterface& kernel, UniqueFd fd, std::string name, uint16_t flags,
           const TunOptions& options);

  Result<size_t> ReadImpl(std::span<const MutableByteSpan> bufs, std::span<size_t> sizes,
                          size_t offset, PacketInfo* info);
  // Checks one packet read into `packet` with its headers in `hdr`; false = dropped (counted).
  bool AcceptRead(const uint8_t* hdr, MutableByteSpan packet, size_t capacity, PacketInfo& pi);
  // Builds the PI + vnet header for `packet` into `hdr`; false = dropped (counted).
  bool BuildWriteHeader(ByteSpan packet, uint8_t* hdr);

  KernelInterface& kernel_;
  UniqueFd fd_;
  std::string name_;  // the real name (from TUNSETIFF)
  uint16_t flags_;
  TunMode mode_;
  size_t pi_size_;        // 0 or 4
  size_t vnet_hdr_size_;  // 0, or >= 10
  size_t batch_size_;
  TunOptions options_;  // for OpenQueue
  bool attached_ = true;
  TunDropCounters drops_;
};

}  // namespace tundra::tun
