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
// and virtio-net headers and splitting TSO/USO super-packets into their segments; Write() does
// one write() per packet, putting the headers in the caller's headroom (writev() when the
// headroom is too small), or with offloads on, one writev() per coalesced group. Would-block on
// write is not waited for: the TUN write path only returns EAGAIN when the kernel cannot allocate
// an skb, and the packet is counted as kWriteWouldBlock.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tundra/base/kernel.h"
#include "tundra/base/result.h"
#include "tundra/base/unique_fd.h"
#include "tundra/tun/gro.h"
#include "tundra/tun/gso_split.h"
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
  size_t batch_size = kIdealBatchSize;         // BatchSize()
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

  // Takes over a descriptor already attached to a TUN device elsewhere (wireguard-go's
  // WG_TUN_FD: TUNSETIFF done by a privileged parent). TUNGETIFF supplies the name and flags;
  // the device must be a TUN without the PI header (IFF_NO_PI cannot be read back: TUNGETIFF
  // reports IFF_NOFILTER in that bit), which is what wireguard-go assumes too. With `mode`
  // kTap it must be a TAP instead (tundra's TAP mode, docs/l2.md).
  static Result<std::unique_ptr<LinuxTun>> Adopt(UniqueFd tun_fd,
                                                 size_t batch_size = kIdealBatchSize,
                                                 KernelInterface& kernel = RealKernel(),
                                                 TunMode mode = TunMode::kTun);

  // Turns the offloads this queue set back off when the device outlives it (persistent): a
  // later reader without IFF_VNET_HDR would otherwise be handed 64 KiB super-packets.
  ~LinuxTun() override;
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
  TunOffloadCounters::Snapshot offloads() const override { return offload_counters_.Get(); }

  // Read() that also reports each packet's PI header (flags, proto). With IFF_NO_PI, `info[i]`
  // is {0, 0}. Reads at most info.size() packets.
  Result<size_t> Read(std::span<const MutableByteSpan> bufs, std::span<size_t> sizes, size_t offset,
                      std::span<PacketInfo> info);

  // Where the device is now, which follows `ip link set DEV netns NS [name NEW]`: its network
  // namespace (TUNGETDEVNETNS, Linux 5.2+) and its current name (TUNGETIFF).
  Result<UniqueFd> DeviceNetns() const;
  Result<std::string> CurrentName() const;

  // Opens one more queue of this multi-queue device (same name and flags, no owner/persist).
  Result<std::unique_ptr<LinuxTun>> OpenQueue() const;
  // TUNSETQUEUE with IFF_ATTACH_QUEUE / IFF_DETACH_QUEUE. A detached queue receives nothing
  // (the kernel purges its backlog) and its Read() returns 0.
  Status SetQueueAttached(bool attached);
  bool queue_attached() const { return attached_; }

  // TUNSETPERSIST: a persistent device outlives its last queue.
  Status SetPersist(bool persist);
  // TUNSETOFFLOAD (TUN_F_* bits, see vnet_hdr.h): applies to the whole device. Needs vnet_hdr.
  // With CSUM and TSO4/TSO6 on a TUN, Write() also coalesces (gro.h; UDP too with USO4|USO6).
  Status SetOffload(unsigned flags);
  // The offloads of a fast tunnel: TUNSETOFFLOAD(CSUM|TSO4|TSO6|USO4|USO6), or without USO
  // before Linux 6.2. Read() then splits the TCP/UDP super-packets the kernel hands over
  // (gso_split.h) and Write() coalesces packets into super-packets (gro.h). TUN only; needs
  // vnet_hdr. Returns the TUN_F_* flags in force.
  Result<unsigned> EnableOffloads();
  bool coalescing() const { return gro_tcp_; }
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
  // A super-packet to split comes back in `gso`.
  bool AcceptRead(const uint8_t* hdr, MutableByteSpan packet, size_t capacity, PacketInfo& pi,
                  std::optional<GsoSuperPacket>& gso);
  // Hands out segments of the parked super-packet into bufs[count, want); returns the new count.
  size_t DrainPending(std::span<const MutableByteSpan> bufs, std::span<size_t> sizes, size_t offset,
                      PacketInfo* info, size_t count, size_t want);
  // Builds the PI + vnet header for `packet` into `hdr`; false = dropped (counted).
  bool BuildWriteHeader(ByteSpan packet, uint8_t* hdr);
  Result<size_t> WriteCoalesced(std::span<const MutableByteSpan> bufs, size_t offset);
  // Writes `packet` (`headroom` bytes free in front of it) with `vnet` (null: all zero) and the
  // `followers` behind it, as `packets` packets: adds them to `written` or counts the drop.
  // False (errno set) when the queue itself failed.
  bool WriteOne(MutableByteSpan packet, size_t headroom, const VirtioNetHdr* vnet,
                std::span<const struct iovec> followers, size_t packets, size_t& written);

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
  TunOffloadCounters offload_counters_;
  // Read side: a super-packet whose segments did not all fit into the caller's buffers.
  std::vector<uint8_t> pending_;
  std::optional<GsoSuperPacket> pending_gso_;
  size_t pending_next_ = 0;
  PacketInfo pending_pi_;
  // Write side: GRO coalescing (set by SetOffload).
  bool gro_tcp_ = false;
  bool gro_udp_ = false;
  bool offloads_set_ = false;  // this queue changed TUNSETOFFLOAD
  GroTable gro_;
  std::vector<MutableByteSpan> gro_packets_;
};

}  // namespace tundra::tun
