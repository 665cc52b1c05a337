// The batch loops behind the UDP bindings: one recvmmsg loop for recvmmsg and recvmmsgGro (each message gets a
// control buffer when the caller wants the UDP_GRO segment size or the local address a datagram arrived on), and
// one sendmmsg loop for sendmmsg and sendmmsgGso (a datagram is a group of one; a larger group carries a
// UDP_SEGMENT cmsg; a datagram with a source carries an IP_PKTINFO / IPV6_PKTINFO cmsg).
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>

#include <algorithm>

#include "errors.h"
#include "fdio.h"
#include "udp.h"

namespace tunvpn {

namespace {

constexpr int kChunk = 64;          // messages per recvmmsg/sendmmsg syscall (stack arrays)
constexpr int kMaxSoftRetries = 8;  // queued ICMP-style errors skipped per recvmmsg call
// Control room per received message: the UDP_GRO cmsg (an int) and a PKTINFO cmsg (IPv6's is the larger), with
// slack for one more small cmsg.
constexpr size_t kRecvControlBytes = CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(int));
// Control room per sent message: a UDP_SEGMENT cmsg (a u16) and a PKTINFO cmsg.
constexpr size_t kSendControlBytes = CMSG_SPACE(sizeof(uint16_t)) + CMSG_SPACE(sizeof(in6_pktinfo));

// Control buffers with the alignment cmsghdr needs.
union SendControl {
  cmsghdr align;
  char buf[kSendControlBytes];
};
union RecvControl {
  cmsghdr align;
  char buf[kRecvControlBytes];
};

// Reads a received message's control data: the UDP_GRO segment size into *segment (0 when none: one datagram) and
// the local address and interface from IP_PKTINFO / IPV6_PKTINFO into the local slot `local` (family 0 when none).
// Either output may be nullptr. IPv4's ipi_spec_dst is the local address a reply should come from.
void ReadControl(msghdr* h, int32_t* segment, uint8_t* local) {
  if (segment != nullptr) *segment = 0;
  if (local != nullptr) memset(local, 0, kAddrSlot);
  if ((h->msg_flags & MSG_CTRUNC) != 0) return;
  for (cmsghdr* c = CMSG_FIRSTHDR(h); c != nullptr; c = CMSG_NXTHDR(h, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int v;
      memcpy(&v, CMSG_DATA(c), sizeof v);
      if (segment != nullptr) *segment = v > 0 ? v : 0;
    } else if (local == nullptr) {
      continue;
    } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO && c->cmsg_len >= CMSG_LEN(sizeof(in_pktinfo))) {
      in_pktinfo info;
      memcpy(&info, CMSG_DATA(c), sizeof info);
      EncodeLocalSlot(local, 4, &info.ipi_spec_dst, static_cast<uint32_t>(info.ipi_ifindex));
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
               c->cmsg_len >= CMSG_LEN(sizeof(in6_pktinfo))) {
      in6_pktinfo info;
      memcpy(&info, CMSG_DATA(c), sizeof info);
      if (IN6_IS_ADDR_V4MAPPED(&info.ipi6_addr)) {
        EncodeLocalSlot(local, 4, info.ipi6_addr.s6_addr + 12, info.ipi6_ifindex);
      } else {
        EncodeLocalSlot(local, 6, &info.ipi6_addr, info.ipi6_ifindex);
      }
    }
  }
}

// The local slot datagram i is to be sent from, or nullptr when it has none this socket can use (no locals, family
// 0, or an IPv6 source on an AF_INET socket).
const uint8_t* SourceOf(const SendBatch& b, size_t i, int domain) {
  if (b.locals.data == nullptr) return nullptr;
  const uint8_t* local = b.locals.data + i * kAddrSlot;
  if (local[0] == 4 || (local[0] == 6 && domain == AF_INET6)) return local;
  return nullptr;
}

// Appends one cmsg of `level`/`type` carrying `len` bytes of `data` at control->buf + *used.
void AppendCmsg(SendControl* control, size_t* used, int level, int type, const void* data, size_t len) {
  auto* c = reinterpret_cast<cmsghdr*>(control->buf + *used);
  c->cmsg_level = level;
  c->cmsg_type = type;
  c->cmsg_len = CMSG_LEN(len);
  memcpy(CMSG_DATA(c), data, len);
  *used += CMSG_SPACE(len);
}

// Attaches the control messages of one outgoing message to `h` (which has none yet): UDP_SEGMENT when `segment`
// > 0 (the kernel splits the payload into datagrams of that many bytes), and the source address of `local` when
// not nullptr. The source goes in ipi_spec_dst / ipi6_addr; the interface index only for an IPv6 link-local source
// (which the kernel refuses without one), so that elsewhere the routing table picks the way out as it does for
// kernel WireGuard, instead of an IPv4 ipi_ifindex making the kernel assume the peer is on that interface's link.
void AttachControl(msghdr* h, SendControl* control, uint16_t segment, const uint8_t* local, int domain) {
  if (segment == 0 && local == nullptr) return;
  memset(control, 0, sizeof *control);
  size_t used = 0;
  if (segment > 0) AppendCmsg(control, &used, SOL_UDP, UDP_SEGMENT, &segment, sizeof segment);
  if (local != nullptr && domain == AF_INET) {
    in_pktinfo info{};
    memcpy(&info.ipi_spec_dst, local + 8, 4);
    AppendCmsg(control, &used, IPPROTO_IP, IP_PKTINFO, &info, sizeof info);
  } else if (local != nullptr) {
    in6_pktinfo info{};
    if (local[0] == 4) {  // ::ffff:a.b.c.d on a dual-stack socket
      info.ipi6_addr.s6_addr[10] = 0xff;
      info.ipi6_addr.s6_addr[11] = 0xff;
      memcpy(info.ipi6_addr.s6_addr + 12, local + 8, 4);
    } else {
      memcpy(&info.ipi6_addr, local + 8, 16);
      if (IN6_IS_ADDR_LINKLOCAL(&info.ipi6_addr)) info.ipi6_ifindex = LocalSlotIfindex(local);
    }
    AppendCmsg(control, &used, IPPROTO_IPV6, IPV6_PKTINFO, &info, sizeof info);
  }
  h->msg_control = control->buf;
  h->msg_controllen = used;
}

// Errors with which the kernel refuses a datagram's source address because it is not (or no longer) one of this
// host's: EINVAL for IPv6 (ip6_datagram_send_ctl) and for IPv4 on older kernels, ENETUNREACH for IPv4 on current
// ones (ip_route_output_key_hash_rcu). Either may also be about the destination (no route; an invalid address):
// the retry without the source tells them apart (SourceRetry).
bool IsSourceRefused(int err) {
  return err == EINVAL || err == ENETUNREACH;
}

constexpr size_t kNoRetry = SIZE_MAX;

// A group sent again without its source after the kernel refused it with that source. Whether the source was at
// fault is known when the retry goes out (the source is dropped for good: ConfirmDropped) or fails the same way (the
// destination is at fault: the source is put back, Restore).
struct SourceRetry {
  size_t first = kNoRetry;  // first datagram of the group; kNoRetry: no retry under way
  size_t count = 0;
  uint8_t slot[kAddrSlot];  // the source as it was

  // Takes the source off datagrams [first, first + count) for one try (family byte 0, as the kernel then chooses).
  void Begin(const SendBatch& b, size_t from, size_t n) {
    first = from;
    count = n;
    memcpy(slot, b.locals.data + from * kAddrSlot, kAddrSlot);
    for (size_t i = from; i < from + n; i++) b.locals.data[i * kAddrSlot] = 0;
  }

  void Restore(const SendBatch& b) {
    for (size_t i = first; i < first + count; i++) b.locals.data[i * kAddrSlot] = slot[0];
    first = kNoRetry;
  }

  // The retry went out: the address is no longer ours. Counts the group in report[kReportUnsourced] and drops the
  // same source from every later datagram of the batch (counted too), so they go out without a failed try.
  void ConfirmDropped(const SendBatch& b) {
    b.report[kReportUnsourced] += static_cast<int32_t>(count);
    for (size_t i = first + count; i < b.count; i++) {
      uint8_t* local = b.locals.data + i * kAddrSlot;
      if (local[0] != 0 && memcmp(local, slot, kAddrSlot) == 0) {
        local[0] = 0;
        b.report[kReportUnsourced]++;
      }
    }
    first = kNoRetry;
  }
};

// Errors with which the kernel refuses to segment a group: no checksum offload on the route's device (EIO), a
// segment larger than the path MTU (EINVAL/EMSGSIZE).
bool IsSegmentationRefused(int err) {
  return err == EIO || err == EINVAL || err == EMSGSIZE;
}

int SocketDomain(Napi::Env env, int fd) {
  int domain = 0;
  socklen_t len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0) ThrowErrno(env, errno, "getsockopt(SO_DOMAIN)");
  return domain;
}

size_t GroupSize(const SendBatch& b, size_t g) {
  return b.groups == nullptr ? 1 : static_cast<size_t>(b.groups[g]);
}

// A socket error that stopped a send loop (err 0: none).
struct SendStop {
  int err;
  const char* syscall;
};

// Sends groups [g, groupEnd) of `b`, whose first datagram is `done`; returns the datagrams handled by then. Stops
// early when the socket would block, or on a socket error (recorded in *stop). A group the kernel refuses to
// segment is sent again as plain datagrams by a nested call; the iovecs are shared with it, which is safe because
// each round of this loop fills its messages anew.
size_t SendGroups(const SendBatch& b, int domain, size_t done, size_t g, size_t groupEnd, SendStop* stop) {
  static thread_local iovec iov[kChunk * kMaxSegments];
  mmsghdr msgs[kChunk];
  SockAddr names[kChunk];
  SendControl controls[kChunk];
  SourceRetry retry;
  while (g < groupEnd) {
    // Fill up to kChunk messages, one per group.
    int m = 0;
    size_t at = done;  // first datagram of group g + m
    size_t iv = 0;     // first iovec of message m
    while (m < kChunk && g + m < groupEnd) {
      size_t n = GroupSize(b, g + m);
      socklen_t len = DecodeSlot(b.addrs.data + at * kAddrSlot, domain, &names[m]);
      if (len == 0) break;  // unreachable through this socket: handled below
      for (size_t k = 0; k < n; k++) {
        iov[iv + k] = {b.arena.data + b.offsets.data[at + k], static_cast<size_t>(b.lengths.data[at + k])};
      }
      memset(&msgs[m], 0, sizeof msgs[m]);
      msghdr& h = msgs[m].msg_hdr;
      h.msg_name = &names[m];
      h.msg_namelen = len;
      h.msg_iov = &iov[iv];
      h.msg_iovlen = n;
      AttachControl(&h, &controls[m], n > 1 ? static_cast<uint16_t>(b.lengths.data[at]) : 0, SourceOf(b, at, domain), domain);
      at += n;
      iv += n;
      m++;
    }
    if (m == 0) {  // e.g. an IPv6 destination on an AF_INET socket: skip the group like a per-datagram error
      done += GroupSize(b, g++);
      continue;
    }
    int r = sendmmsg(b.fd, msgs, static_cast<unsigned>(m), MSG_DONTWAIT);
    if (r > 0) {
      if (retry.first == done) retry.ConfirmDropped(b);
      for (int k = 0; k < r; k++) done += GroupSize(b, g + k);
      g += static_cast<size_t>(r);
      continue;
    }
    int err = r == 0 ? EAGAIN : errno;
    if (err == EINTR) continue;
    if (WouldBlock(err)) break;
    if (IsSocketError(err)) {
      *stop = {err, b.groups != nullptr ? "sendmmsg(UDP_SEGMENT)" : "sendmmsg"};
      break;
    }
    size_t n = GroupSize(b, g);
    if (retry.first == done) {
      retry.Restore(b);  // refused without its source too: the source was not at fault
    } else if (IsSourceRefused(err) && (n == 1 || err != EINVAL) && SourceOf(b, done, domain) != nullptr) {
      // The source address may have gone away: try the datagram (group) again, letting the kernel choose. A group's
      // EINVAL may as well be its segment size: that group is resent plain below, each datagram coming back here.
      retry.Begin(b, done, n);
      continue;
    }
    if (n > 1 && IsSegmentationRefused(err)) {
      // Send this group as plain datagrams instead (one destination: CheckGroups) and tell the caller.
      b.report[kReportGroupsRefused]++;
      b.report[kReportRefusedErrno] = err;
      SendBatch plain = b;
      plain.groups = nullptr;
      size_t end = done + n;
      done = SendGroups(plain, domain, done, done, end, stop);
      if (done < end) break;  // blocked, or a socket error in *stop
      g++;
      continue;
    }
    done += n;  // ENETUNREACH, EHOSTUNREACH, EPERM, EMSGSIZE, ECONNREFUSED, ENOBUFS...: drop this group
    g++;
  }
  if (retry.first != kNoRetry) retry.Restore(b);  // blocked before the retry went out: it keeps its source
  return done;
}

}  // namespace

RecvBatch ArgRecvBatch(const Napi::CallbackInfo& info, bool withSegmentSizes) {
  Napi::Env env = info.Env();
  RecvBatch b{};
  b.fd = ArgFd(info, 0);
  b.arena = ArgBytes(info, 1, "arena");
  b.slot = ArgInt(info, 2, "slotSize", 1, kMaxBatchArg);
  b.lengths = ArgInt32s(info, 3, "lengths");
  b.addrs = ArgBytes(info, 4, "addrs");
  Int32View segs{nullptr, 0};
  if (withSegmentSizes) segs = ArgInt32s(info, 5, "segmentSizes");
  b.max = ArgInt(info, withSegmentSizes ? 6 : 5, "max", 0, kMaxBatchArg);
  b.locals = ArgOptionalLocals(info, withSegmentSizes ? 7 : 6);
  CheckSlots(env, b.arena, b.slot, b.lengths, b.max);
  if (withSegmentSizes) {
    RequireCapacity(env, "segmentSizes", segs.length, static_cast<uint64_t>(b.max));
    b.segmentSizes = segs.data;  // non-null whenever max > 0, which is all the loop needs
  }
  RequireCapacity(env, "addrs", b.addrs.length, kAddrSlot * static_cast<uint64_t>(b.max));
  if (b.locals.data != nullptr) RequireCapacity(env, "locals", b.locals.length, kAddrSlot * static_cast<uint64_t>(b.max));
  return b;
}

int64_t ReceiveDatagrams(Napi::Env env, const RecvBatch& b) {
  mmsghdr msgs[kChunk];
  iovec iov[kChunk];
  SockAddr names[kChunk];
  RecvControl controls[kChunk];
  const bool control = b.segmentSizes != nullptr || b.locals.data != nullptr;
  int64_t count = 0;
  int soft = 0;
  while (count < b.max) {
    int n = static_cast<int>(std::min<int64_t>(kChunk, b.max - count));
    memset(msgs, 0, sizeof(mmsghdr) * n);
    for (int i = 0; i < n; i++) {
      iov[i] = {b.arena.data + (count + i) * b.slot, static_cast<size_t>(b.slot)};
      msghdr& h = msgs[i].msg_hdr;
      h.msg_name = &names[i];
      h.msg_namelen = sizeof names[i];
      h.msg_iov = &iov[i];
      h.msg_iovlen = 1;
      if (control) {
        h.msg_control = controls[i].buf;
        h.msg_controllen = sizeof controls[i].buf;
      }
    }
    int r = recvmmsg(b.fd, msgs, static_cast<unsigned>(n), MSG_DONTWAIT, nullptr);
    if (r < 0) {
      int err = errno;
      if (IsSoftReceiveError(err) && soft++ < kMaxSoftRetries) continue;
      if (RetryBatchCall(env, err, count > 0, "recvmmsg")) continue;
      break;
    }
    for (int i = 0; i < r; i++) {
      msghdr& h = msgs[i].msg_hdr;
      bool truncated = (h.msg_flags & MSG_TRUNC) != 0;
      b.lengths.data[count + i] = truncated ? -1 : static_cast<int32_t>(msgs[i].msg_len);
      if (control) {
        uint8_t* local = b.locals.data != nullptr ? b.locals.data + (count + i) * kAddrSlot : nullptr;
        ReadControl(&h, b.segmentSizes != nullptr ? &b.segmentSizes[count + i] : nullptr, local);
      }
      EncodeSlot(b.addrs.data + (count + i) * kAddrSlot, names[i], h.msg_namelen);
    }
    count += r;
    if (r < n) break;  // drained (or an error is queued for the next call)
  }
  return count;
}

SendBatch ArgSendBatch(const Napi::CallbackInfo& info) {
  SendBatch b{};
  b.fd = ArgFd(info, 0);
  b.arena = ArgBytes(info, 1, "arena");
  b.offsets = ArgInt32s(info, 2, "offsets");
  b.lengths = ArgInt32s(info, 3, "lengths");
  b.addrs = ArgBytes(info, 4, "addrs");
  b.count = static_cast<size_t>(ArgInt(info, 5, "count", 0, kMaxBatchArg));
  b.groupCount = b.count;
  return b;
}

ByteView ArgOptionalLocals(const Napi::CallbackInfo& info, size_t index) {
  if (info.Length() <= index || info[index].IsUndefined() || info[index].IsNull()) return ByteView{nullptr, 0};
  return ArgBytes(info, index, "locals");
}

void CheckSendBatch(Napi::Env env, const SendBatch& b) {
  CheckSlices(env, b.arena, b.offsets, b.lengths, b.count);
  RequireCapacity(env, "addrs", b.addrs.length, kAddrSlot * static_cast<uint64_t>(b.count));
  if (b.locals.data != nullptr) RequireCapacity(env, "locals", b.locals.length, kAddrSlot * static_cast<uint64_t>(b.count));
}

size_t SendDatagrams(Napi::Env env, const SendBatch& b) {
  if (b.count == 0) return 0;
  int domain = SocketDomain(env, b.fd);
  SendStop stop{0, nullptr};
  size_t done = SendGroups(b, domain, 0, 0, b.groupCount, &stop);
  if (stop.err != 0 && done == 0) ThrowErrno(env, stop.err, stop.syscall);
  return done;
}

}  // namespace tunvpn
