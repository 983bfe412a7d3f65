#include "tundra/tun/tun_linux.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "tundra/base/check.h"
#include "tundra/base/ip_header.h"
#include "tundra/base/syscall.h"
#include "tundra/tun/gso_split.h"
#include "tundra/tun/vnet_hdr.h"

namespace tundra::tun {
namespace {

// The TUNSETIFF flags TUNGETFEATURES reports on (IFF_TUN_EXCL is handled but never listed).
constexpr uint16_t kFeatureMask = IFF_TUN | IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
constexpr size_t kMaxVnetHdrSize = 64;
constexpr size_t kMaxHeaderSize = kPiHeaderSize + kMaxVnetHdrSize;

// ioctls that take their argument by value (TUNSETPERSIST, TUNSETOWNER, TUNSETOFFLOAD, ...).
void* ByValue(unsigned long value) { return reinterpret_cast<void*>(value); }

const char* FeatureName(uint16_t bit) {
  switch (bit) {
    case IFF_TUN:
      return "IFF_TUN";
    case IFF_TAP:
      return "IFF_TAP";
    case IFF_NO_PI:
      return "IFF_NO_PI";
    case IFF_VNET_HDR:
      return "IFF_VNET_HDR";
    case IFF_MULTI_QUEUE:
      return "IFF_MULTI_QUEUE";
    default:
      return "an IFF_* flag";
  }
}

// The interface name the kernel put in an ifreq (not necessarily NUL-terminated).
std::string IfrName(const struct ifreq& ifr) {
  return std::string(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));
}

// O_NONBLOCK on a queue's fd, before it can reach epoll.
Status SetNonBlocking(KernelInterface& kernel, int fd, const std::string& name) {
  const int fl = kernel.fcntl(fd, F_GETFL, 0);
  if (fl < 0 || kernel.fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
    return ErrnoError("fcntl(O_NONBLOCK) " + name);
  }
  return OkStatus();
}

std::string ModeUpper(TunMode mode) { return mode == TunMode::kTap ? "TAP" : "TUN"; }

// Turns the kernel's bare EINVAL/EBUSY from TUNSETIFF on an existing device into the reason.
Error ExplainSetIffFailure(Error raw, int err, const TunOptions& options) {
  const std::string& name = options.name;
  if ((err != EINVAL && err != EBUSY) || name.find('%') != std::string::npos ||
      !NetDeviceExists(options.sysfs_root, name)) {
    return raw;
  }
  auto tun_flags = ReadNetAttr(options.sysfs_root, name, "tun_flags");
  if (!tun_flags.ok()) {
    return MakeError(err, fmt::format("{} exists and is not a TUN/TAP device", name));
  }
  const unsigned long existing = std::strtoul(tun_flags->c_str(), nullptr, 16);
  const TunMode existing_mode = (existing & IFF_TAP) != 0 ? TunMode::kTap : TunMode::kTun;
  if (existing_mode != options.mode) {
    return MakeError(err, fmt::format("{} exists and is a {} device, not {}", name,
                                      ModeUpper(existing_mode), ModeUpper(options.mode)));
  }
  if (err == EBUSY && options.exclusive) {
    return MakeError(err, fmt::format("{} already exists", name));
  }
  const bool existing_mq = (existing & IFF_MULTI_QUEUE) != 0;
  if (existing_mq != options.multi_queue) {
    return MakeError(err, existing_mq ? fmt::format("{} exists as a multi-queue device "
                                                    "(open it with multi-queue)",
                                                    name)
                                      : fmt::format("{} exists as a single-queue device "
                                                    "(multi-queue was requested)",
                                                    name));
  }
  if (err == EBUSY) {
    return MakeError(err, fmt::format("{} is in use by another process (a single-queue {} "
                                      "device accepts one open file)",
                                      name, ModeUpper(existing_mode)));
  }
  return raw;
}

// For a packet that filled its whole buffer: does its own length field say it is longer?
bool LooksTruncated(TunMode mode, ByteSpan packet) {
  size_t ip = 0;
  if (mode == TunMode::kTap) {
    const uint16_t type = EtherTypeOfFrame(packet);
    if (type != kEtherTypeIpv4 && type != kEtherTypeIpv6) return false;
    ip = kEthernetHeaderSize;
  }
  if (packet.size() < ip + 1) return false;
  const size_t available = packet.size() - ip;
  const uint8_t* p = packet.data() + ip;
  switch (ip::Version(p)) {
    case 4:
      return available >= ip::kIpv4TotalLength + 2 && ip::Ipv4TotalLength(p) > available;
    case 6:
      return available >= ip::kIpv6PayloadLength + 2 && ip::Ipv6TotalLength(p) > available;
    default:
      return false;
  }
}

}  // namespace

std::string_view TunModeName(TunMode mode) { return mode == TunMode::kTap ? "tap" : "tun"; }

Result<TunMode> ParseTunMode(std::string_view text) {
  if (text == "tun") return TunMode::kTun;
  if (text == "tap") return TunMode::kTap;
  return InvalidArgument(fmt::format("unknown mode '{}' (expected tun or tap)", text));
}

Status ValidateInterfaceName(std::string_view name) {
  if (name.empty()) return InvalidArgument("interface name is empty");
  if (name.size() >= IFNAMSIZ) {
    return InvalidArgument(fmt::format("interface name '{}' is {} bytes long (at most {})", name,
                                       name.size(), IFNAMSIZ - 1));
  }
  if (name == "." || name == "..") {
    return InvalidArgument(fmt::format("interface name '{}' is not allowed", name));
  }
  size_t percents = 0;
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (c == '/' || c == ':' || std::isspace(c) != 0) {
      return InvalidArgument(
          fmt::format("interface name '{}' contains '/', ':' or whitespace", name));
    }
    if (c == '%') {
      ++percents;
      if (percents > 1 || i + 1 >= name.size() || name[i + 1] != 'd') {
        return InvalidArgument(fmt::format(
            "interface name template '{}' may contain only one '%d' and no other '%'", name));
      }
    }
  }
  return OkStatus();
}

uint16_t TunSetIffFlags(const TunOptions& options) {
  uint16_t flags = options.mode == TunMode::kTap ? IFF_TAP : IFF_TUN;
  if (options.no_pi) flags |= IFF_NO_PI;
  if (options.multi_queue) flags |= IFF_MULTI_QUEUE;
  if (options.vnet_hdr) flags |= IFF_VNET_HDR;
  if (options.exclusive) flags |= IFF_TUN_EXCL;
  return flags;
}

Result<std::unique_ptr<LinuxTun>> LinuxTun::Open(const TunOptions& options,
                                                 KernelInterface& kernel) {
  TUNDRA_RETURN_IF_ERROR(ValidateInterfaceName(options.name));
  const int fd =
      RetryOnEintr([&] { return kernel.open(options.clone_device.c_str(), O_RDWR | O_CLOEXEC); });
  if (fd < 0) {
    const int err = errno;
    const std::string call = "open(" + options.clone_device + ")";
    if (err == ENOENT) {
      return Error(err, call,
                   "No such file or directory (no TUN/TAP driver: load it with 'modprobe tun')");
    }
    if (err == EACCES) {
      return Error(err, call, "Permission denied (needs root or access to the clone device)");
    }
    return ErrnoError(call, err);
  }
  return OpenOnFd(UniqueFd(fd, &kernel), options, kernel);
}

Result<std::unique_ptr<LinuxTun>> LinuxTun::OpenOnFd(UniqueFd tun_fd, const TunOptions& options,
                                                     KernelInterface& kernel) {
  // Every early return below closes tun_fd: the kernel then deletes a device this call created
  // (it is not persistent yet) or merely detaches from an existing one.
  TUNDRA_RETURN_IF_ERROR(ValidateInterfaceName(options.name));
  const int fd = tun_fd.get();
  const uint16_t wanted = TunSetIffFlags(options);

  unsigned int features = 0;
  if (kernel.ioctl(fd, TUNGETFEATURES, &features) < 0) {
    return ErrnoError("ioctl(TUNGETFEATURES) " + options.name);
  }
  const uint16_t missing = (wanted & kFeatureMask) & ~features;
  if (missing != 0) {
    const uint16_t bit = missing & uint16_t(-missing);
    return MakeError(EOPNOTSUPP,
                     fmt::format("{} is not supported by this kernel (requested for {})",
                                 FeatureName(bit), options.name));
  }

  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof(ifr));
  std::memcpy(ifr.ifr_name, options.name.data(), options.name.size());
  ifr.ifr_flags = static_cast<short>(wanted);
  if (kernel.ioctl(fd, TUNSETIFF, &ifr) < 0) {
    const int err = errno;
    return ExplainSetIffFailure(ErrnoError("ioctl(TUNSETIFF) " + options.name, err), err, options);
  }
  const std::string name = IfrName(ifr);

  struct ifreq got;
  std::memset(&got, 0, sizeof(got));
  if (kernel.ioctl(fd, TUNGETIFF, &got) < 0) return ErrnoError("ioctl(TUNGETIFF) " + name);
  // TUNGETIFF reports IFF_NOFILTER (no socket filter attached) in the bit IFF_NO_PI uses, so
  // that one bit comes from the request. The kernel applies the request's IFF_NO_PI unless this
  // is an extra queue of a multi-queue device, which OpenQueue() opens with the first queue's.
  uint16_t flags = static_cast<uint16_t>((static_cast<uint16_t>(got.ifr_flags) & ~IFF_NO_PI) |
                                         (wanted & IFF_NO_PI));

  if (options.owner && kernel.ioctl(fd, TUNSETOWNER, ByValue(*options.owner)) < 0) {
    return ErrnoError(fmt::format("ioctl(TUNSETOWNER {}) {}", *options.owner, name));
  }
  if (options.group && kernel.ioctl(fd, TUNSETGROUP, ByValue(*options.group)) < 0) {
    return ErrnoError(fmt::format("ioctl(TUNSETGROUP {}) {}", *options.group, name));
  }
  TUNDRA_RETURN_IF_ERROR(SetNonBlocking(kernel, fd, name));
  // Last: from here on the device survives the close of its fd.
  if (options.persist) {
    if (kernel.ioctl(fd, TUNSETPERSIST, ByValue(1)) < 0) {
      return ErrnoError("ioctl(TUNSETPERSIST 1) " + name);
    }
    flags |= IFF_PERSIST;
  }
  return std::unique_ptr<LinuxTun>(new LinuxTun(kernel, std::move(tun_fd), name, flags, options));
}

Result<std::unique_ptr<LinuxTun>> LinuxTun::Adopt(UniqueFd tun_fd, size_t batch_size,
                                                  KernelInterface& kernel, TunMode mode) {
  const int fd = tun_fd.get();
  struct ifreq got;
  std::memset(&got, 0, sizeof(got));
  if (kernel.ioctl(fd, TUNGETIFF, &got) < 0) {
    const int err = errno;
    return Error(err, fmt::format("ioctl(TUNGETIFF) on descriptor {}", fd),
                 std::string(std::strerror(err)) + " (not a descriptor attached to a TUN device)");
  }
  const std::string name = IfrName(got);
  const uint16_t flags = static_cast<uint16_t>(got.ifr_flags) | IFF_NO_PI;
  const bool is_tap = (flags & IFF_TUN) == 0;
  if (is_tap != (mode == TunMode::kTap)) {
    return MakeError(EINVAL, fmt::format("descriptor {} is attached to {}, a {} device (a {} "
                                         "is needed)",
                                         fd, name, is_tap ? "TAP" : "TUN",
                                         mode == TunMode::kTap ? "TAP" : "TUN"));
  }
  TUNDRA_RETURN_IF_ERROR(SetNonBlocking(kernel, fd, name));
  if (kernel.fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) return ErrnoError("fcntl(FD_CLOEXEC) " + name);
  TunOptions options;
  options.name = name;
  options.mode = mode;
  options.no_pi = true;
  options.vnet_hdr = (flags & IFF_VNET_HDR) != 0;
  options.multi_queue = (flags & IFF_MULTI_QUEUE) != 0;
  options.batch_size = batch_size;
  return std::unique_ptr<LinuxTun>(new LinuxTun(kernel, std::move(tun_fd), name, flags, options));
}

LinuxTun::LinuxTun(KernelInterface& kernel, UniqueFd fd, std::string name, uint16_t flags,
                   const TunOptions& options)
    : kernel_(kernel),
      fd_(std::move(fd)),
      name_(std::move(name)),
      flags_(flags),
      mode_((flags & IFF_TAP) != 0 ? TunMode::kTap : TunMode::kTun),
      pi_size_((flags & IFF_NO_PI) != 0 ? 0 : kPiHeaderSize),
      vnet_hdr_size_((flags & IFF_VNET_HDR) != 0 ? kVirtioNetHdrSize : 0),
      batch_size_(options.batch_size == 0 ? 1 : options.batch_size),
      options_(options) {}

LinuxTun::~LinuxTun() {
  if (offloads_set_ && persistent() && fd_) {
    (void)kernel_.ioctl(fd_.get(), TUNSETOFFLOAD, ByValue(0));
  }
}

bool LinuxTun::persistent() const { return (flags_ & IFF_PERSIST) != 0; }
bool LinuxTun::multi_queue() const { return (flags_ & IFF_MULTI_QUEUE) != 0; }

Result<size_t> LinuxTun::Read(std::span<const MutableByteSpan> bufs, std::span<size_t> sizes,
                              size_t offset) {
  return ReadImpl(bufs, sizes, offset, nullptr);
}

Result<size_t> LinuxTun::Read(std::span<const MutableByteSpan> bufs, std::span<size_t> sizes,
                              size_t offset, std::span<PacketInfo> info) {
  return ReadImpl(bufs.first(std::min(bufs.size(), info.size())), sizes, offset, info.data());
}

Result<size_t> LinuxTun::ReadImpl(std::span<const MutableByteSpan> bufs, std::span<size_t> sizes,
                                  size_t offset, PacketInfo* info) {
  if (!attached_) return size_t{0};
  const size_t want = std::min(bufs.size(), sizes.size());
  const size_t hdr_size = pi_size_ + vnet_hdr_size_;
  uint8_t hdr[kMaxHeaderSize];
  size_t count = DrainPending(bufs, sizes, offset, info, 0, want);
  while (count < want) {
    const MutableByteSpan buf = bufs[count];
    TUNDRA_CHECK(offset < buf.size());
    uint8_t* data = buf.data() + offset;
    const size_t capacity = buf.size() - offset;
    ssize_t n;
    if (hdr_size == 0) {
      n = RetryOnEintr([&] { return kernel_.read(fd_.get(), data, capacity); });
    } else {
      struct iovec iov[2] = {{hdr, hdr_size}, {data, capacity}};
      n = RetryOnEintr([&] { return kernel_.readv(fd_.get(), iov, 2); });
    }
    if (n < 0) {
      const int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) break;
      if (count > 0) break;  // deliver what we have; the error comes back on the next call
      return ErrnoError("read(" + name_ + ")", err);
    }
    if (size_t(n) < hdr_size) {
      drops_.Add(pi_size_ != 0 && size_t(n) < pi_size_ ? TunDropReason::kBadPi
                                                       : TunDropReason::kBadVnetHdr);
      continue;
    }
    PacketInfo pi;
    const MutableByteSpan packet(data, size_t(n) - hdr_size);
    std::optional<GsoSuperPacket> gso;
    if (!AcceptRead(hdr, packet, capacity, pi, gso)) continue;
    if (!gso) {
      sizes[count] = packet.size();
      if (info != nullptr) info[count] = pi;
      ++count;
      continue;
    }
    // A super-packet: split into the following buffers when they can all take their segment
    // (the first segment stays in place, written last); else park it and hand it out over this
    // and the following calls.
    bool fits = count + gso->segments <= want;
    for (size_t i = 1; fits && i < gso->segments; ++i) {
      fits = bufs[count + i].size() >= offset + gso->SegmentLength(i);
    }
    offload_counters_.AddRead(gso->segments);
    if (!fits) {
      pending_.assign(packet.begin(), packet.end());
      pending_gso_ = gso;
      pending_next_ = 0;
      pending_pi_ = pi;
      count = DrainPending(bufs, sizes, offset, info, count, want);
      continue;
    }
    for (size_t i = gso->segments; i-- > 0;) {
      uint8_t* out = i == 0 ? packet.data() : bufs[count + i].data() + offset;
      sizes[count + i] = WriteGsoSegment(*gso, packet, i, out);
      if (info != nullptr) info[count + i] = pi;
    }
    count += gso->segments;
  }
  return count;
}

size_t LinuxTun::DrainPending(std::span<const MutableByteSpan> bufs, std::span<size_t> sizes,
                              size_t offset, PacketInfo* info, size_t count, size_t want) {
  while (pending_gso_ && count < want) {
    const size_t i = pending_next_++;
    const size_t len = pending_gso_->SegmentLength(i);
    if (bufs[count].size() >= offset + len) {
      sizes[count] = WriteGsoSegment(*pending_gso_, pending_, i, bufs[count].data() + offset);
      if (info != nullptr) info[count] = pending_pi_;
      ++count;
    } else {
      drops_.Add(TunDropReason::kTruncated);
    }
    if (pending_next_ == pending_gso_->segments) pending_gso_.reset();
  }
  return count;
}

bool LinuxTun::AcceptRead(const uint8_t* hdr, MutableByteSpan packet, size_t capacity,
                          PacketInfo& pi, std::optional<GsoSuperPacket>& gso) {
  if (pi_size_ != 0) {
    pi = DecodePi(hdr);
    if ((pi.flags & kPiFlagStrip) != 0) {
      drops_.Add(TunDropReason::kTruncated);
      return false;
    }
  }
  if (packet.size() == capacity && LooksTruncated(mode_, packet)) {
    drops_.Add(TunDropReason::kTruncated);
    return false;
  }
  if (vnet_hdr_size_ == 0) return true;
  const VirtioNetHdr vnet = DecodeVirtioNetHdr(hdr + pi_size_);
  switch (ProcessVnetRead(vnet, packet)) {
    case VnetReadAction::kDeliver:
      return true;
    case VnetReadAction::kBadHeader:
      drops_.Add(TunDropReason::kBadVnetHdr);
      return false;
    case VnetReadAction::kSuperPacket:
      break;
  }
  // Super-packets are only split for TUN (a TAP frame has an Ethernet header in front).
  GsoError error = GsoError::kUnsupportedType;
  if (mode_ == TunMode::kTun) gso = ParseGsoSuperPacket(vnet, packet, &error);
  if (gso) return true;
  drops_.Add(error == GsoError::kBadHeader ? TunDropReason::kBadVnetHdr
                                           : TunDropReason::kUnsupportedGso);
  return false;
}

bool LinuxTun::BuildWriteHeader(ByteSpan packet, uint8_t* hdr) {
  if (pi_size_ != 0) {
    const uint16_t proto =
        mode_ == TunMode::kTun ? EtherTypeOfIpPacket(packet) : EtherTypeOfFrame(packet);
    if (proto == 0) {
      drops_.Add(TunDropReason::kBadPacket);
      return false;
    }
    EncodePi(PacketInfo{0, proto}, hdr);
  }
  if (vnet_hdr_size_ != 0) std::memset(hdr + pi_size_, 0, vnet_hdr_size_);  // GSO_NONE
  return true;
}

Result<size_t> LinuxTun::Write(std::span<const MutableByteSpan> bufs, size_t offset) {
  if (gro_tcp_ && bufs.size() > 1) return WriteCoalesced(bufs, offset);
  size_t written = 0;
  for (const MutableByteSpan& buf : bufs) {
    if (buf.size() <= offset) {
      drops_.Add(TunDropReason::kBadPacket);
      continue;
    }
    if (!WriteOne(MutableByteSpan(buf.data() + offset, buf.size() - offset), offset, nullptr, {}, 1,
                  written)) {
      if (written == 0) return ErrnoError("write(" + name_ + ")", errno);
      return written;
    }
  }
  return written;
}

Result<size_t> LinuxTun::WriteCoalesced(std::span<const MutableByteSpan> bufs, size_t offset) {
  gro_packets_.clear();
  for (const MutableByteSpan& buf : bufs) {
    gro_packets_.push_back(buf.size() > offset ? buf.subspan(offset) : MutableByteSpan());
  }
  gro_.Coalesce(gro_packets_, gro_udp_);
  size_t written = 0;
  for (const GroTable::Write& w : gro_.writes()) {
    const MutableByteSpan head = gro_packets_[w.head];
    if (head.empty()) {
      drops_.Add(TunDropReason::kBadPacket);
      continue;
    }
    struct iovec followers[kGroMaxSegments];
    size_t n = 0;
    for (int32_t i = gro_.next(w.head); i >= 0; i = gro_.next(size_t(i))) {
      const MutableByteSpan& f = gro_packets_[size_t(i)];
      followers[n++] = {f.data() + w.hdr_len, f.size() - w.hdr_len};
    }
    const size_t before = written;
    if (!WriteOne(head, offset, w.segments > 1 ? &w.vnet : nullptr,
                  std::span<const struct iovec>(followers, n), w.segments, written)) {
      if (written == 0) return ErrnoError("write(" + name_ + ")", errno);
      return written;
    }
    if (w.segments > 1 && written != before) offload_counters_.AddWritten(w.segments);
  }
  return written;
}

bool LinuxTun::WriteOne(MutableByteSpan packet, size_t headroom, const VirtioNetHdr* vnet,
                        std::span<const struct iovec> followers, size_t packets, size_t& written) {
  const size_t hdr_size = pi_size_ + vnet_hdr_size_;
  uint8_t hdr[kMaxHeaderSize];
  if (hdr_size != 0) {
    if (!BuildWriteHeader(packet, hdr)) return true;
    if (vnet != nullptr) EncodeVirtioNetHdr(*vnet, hdr + pi_size_);
  }
  ssize_t n;
  if (hdr_size == 0 && followers.empty()) {
    n = RetryOnEintr([&] { return kernel_.write(fd_.get(), packet.data(), packet.size()); });
  } else if (headroom >= hdr_size && followers.empty()) {  // in place, in the caller's headroom
    uint8_t* start = packet.data() - hdr_size;
    std::memcpy(start, hdr, hdr_size);
    n = RetryOnEintr([&] { return kernel_.write(fd_.get(), start, hdr_size + packet.size()); });
  } else {
    struct iovec iov[2 + kGroMaxSegments];
    int count = 0;
    if (hdr_size != 0) iov[count++] = {hdr, hdr_size};
    iov[count++] = {packet.data(), packet.size()};
    for (const struct iovec& f : followers) iov[count++] = f;
    n = RetryOnEintr([&] { return kernel_.writev(fd_.get(), iov, count); });
  }
  if (n >= 0) {
    written += packets;
    return true;
  }
  const int err = errno;
  switch (err) {
    case EAGAIN:
    case ENOBUFS:
    case ENOMEM:
      drops_.Add(TunDropReason::kWriteWouldBlock, packets);
      return true;
    case EBADF:
    case EBADFD:
    case EFAULT:
      // The queue itself is unusable (e.g. the interface was deleted): stop here.
      errno = err;
      return false;
    default:  // EINVAL (malformed), EIO (link down or queue detached), ...
      drops_.Add(TunDropReason::kWriteRejected, packets);
      return true;
  }
}

Result<std::unique_ptr<LinuxTun>> LinuxTun::OpenQueue() const {
  if (!multi_queue()) {
    return MakeError(EINVAL, fmt::format("{} is not a multi-queue device", name_));
  }
  TunOptions options = options_;
  options.name = name_;
  options.mode = mode_;
  options.no_pi = pi_size_ == 0;
  options.vnet_hdr = vnet_hdr_size_ != 0;
  options.multi_queue = true;
  options.exclusive = false;
  options.persist = false;
  options.owner.reset();
  options.group.reset();
  TUNDRA_ASSIGN_OR_RETURN(std::unique_ptr<LinuxTun> queue, Open(options, kernel_));
  if (vnet_hdr_size_ != 0 && vnet_hdr_size_ != kVirtioNetHdrSize) {
    TUNDRA_RETURN_IF_ERROR(queue->SetVnetHdrSize(int(vnet_hdr_size_)));
  }
  // TUNSETOFFLOAD is per device: the new queue reads what the others read.
  queue->gro_tcp_ = gro_tcp_;
  queue->gro_udp_ = gro_udp_;
  return queue;
}

Result<UniqueFd> LinuxTun::DeviceNetns() const {
  const int ns = kernel_.ioctl(fd_.get(), TUNGETDEVNETNS, nullptr);
  if (ns < 0) return ErrnoError("ioctl(TUNGETDEVNETNS) " + name_);
  return UniqueFd(ns, &kernel_);
}

Result<std::string> LinuxTun::CurrentName() const {
  struct ifreq got;
  std::memset(&got, 0, sizeof(got));
  if (kernel_.ioctl(fd_.get(), TUNGETIFF, &got) < 0) return ErrnoError("ioctl(TUNGETIFF) " + name_);
  return IfrName(got);
}

Status LinuxTun::SetQueueAttached(bool attached) {
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_flags = attached ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
  if (kernel_.ioctl(fd_.get(), TUNSETQUEUE, &ifr) < 0) {
    return ErrnoError(
        fmt::format("ioctl(TUNSETQUEUE {}) {}", attached ? "attach" : "detach", name_));
  }
  attached_ = attached;
  return OkStatus();
}

Status LinuxTun::SetPersist(bool persist) {
  if (kernel_.ioctl(fd_.get(), TUNSETPERSIST, ByValue(persist ? 1 : 0)) < 0) {
    return ErrnoError(fmt::format("ioctl(TUNSETPERSIST {}) {}", persist ? 1 : 0, name_));
  }
  flags_ = persist ? (flags_ | IFF_PERSIST) : (flags_ & ~IFF_PERSIST);
  return OkStatus();
}

Status LinuxTun::SetOffload(unsigned flags) {
  if (vnet_hdr_size_ == 0) {
    return InvalidArgument(
        fmt::format("{}: TUNSETOFFLOAD needs a device opened with IFF_VNET_HDR", name_));
  }
  if (kernel_.ioctl(fd_.get(), TUNSETOFFLOAD, ByValue(flags)) < 0) {
    return ErrnoError(fmt::format("ioctl(TUNSETOFFLOAD {:#x}) {}", flags, name_));
  }
  offloads_set_ = flags != 0;
  // Writing super-packets back needs a TUN (no Ethernet header) and checksum offload; UDP ones
  // (GSO_UDP_L4) are understood by the kernels that accept USO (6.2+).
  const bool csum = mode_ == TunMode::kTun && (flags & kTunFCsum) != 0;
  gro_tcp_ = csum && (flags & (kTunFTso4 | kTunFTso6)) != 0;
  gro_udp_ = gro_tcp_ && (flags & (kTunFUso4 | kTunFUso6)) == (kTunFUso4 | kTunFUso6);
  return OkStatus();
}

Result<unsigned> LinuxTun::EnableOffloads() {
  if (mode_ != TunMode::kTun) {
    return InvalidArgument(fmt::format("{}: offloads are only used on TUN devices", name_));
  }
  const unsigned tso = kTunFCsum | kTunFTso4 | kTunFTso6;
  const unsigned uso = kTunFUso4 | kTunFUso6;
  if (SetOffload(tso | uso).ok()) return tso | uso;
  TUNDRA_RETURN_IF_ERROR(SetOffload(tso));  // before Linux 6.2: no USO
  return tso;
}

Status LinuxTun::SetVnetHdrSize(int size) {
  if (vnet_hdr_size_ == 0) {
    return InvalidArgument(
        fmt::format("{}: TUNSETVNETHDRSZ needs a device opened with IFF_VNET_HDR", name_));
  }
  if (size < int(kVirtioNetHdrSize) || size > int(kMaxVnetHdrSize)) {
    return InvalidArgument(fmt::format("{}: virtio-net header size {} is outside [{}, {}]", name_,
                                       size, kVirtioNetHdrSize, kMaxVnetHdrSize));
  }
  if (kernel_.ioctl(fd_.get(), TUNSETVNETHDRSZ, &size) < 0) {
    return ErrnoError(fmt::format("ioctl(TUNSETVNETHDRSZ {}) {}", size, name_));
  }
  vnet_hdr_size_ = size_t(size);
  return OkStatus();
}

}  // namespace tundra::tun
