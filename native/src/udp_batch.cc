// The batch loops behind the UDP bindings: one recvmmsg loop for recvmmsg and recvmmsgGro (the latter attaches a
// control buffer per message and reads the UDP_GRO segment size), and one sendmmsg loop for sendmmsg and
// sendmmsgGso (a datagram is a group of one; a larger group carries a UDP_SEGMENT cmsg).
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

constexpr int kChunk = 64;               // messages per recvmmsg/sendmmsg syscall (stack arrays)
constexpr int kMaxSoftRetries = 8;       // queued ICMP-style errors skipped per recvmmsg call
constexpr size_t kGroControlBytes = 64;  // room for the UDP_GRO cmsg (an int) and then some

// Control buffers with the alignment cmsghdr needs.
union SegmentControl {
  cmsghdr align;
  char buf[CMSG_SPACE(sizeof(uint16_t))];
};
union GroControl {
  cmsghdr align;
  char buf[kGroControlBytes];
};

// The UDP_GRO segment size the kernel reported for a received message; 0 when none (a single datagram).
int32_t GroSegmentSize(msghdr* h) {
  int32_t seg = 0;
  if ((h->msg_flags & MSG_CTRUNC) != 0) return seg;
  for (cmsghdr* c = CMSG_FIRSTHDR(h); c != nullptr; c = CMSG_NXTHDR(h, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int v;
      memcpy(&v, CMSG_DATA(c), sizeof v);
      seg = v > 0 ? v : 0;
    }
  }
  return seg;
}

// Attaches a UDP_SEGMENT cmsg to `h`: the kernel splits the message's payload into datagrams of `size` bytes.
void AttachSegmentSize(msghdr* h, SegmentControl* control, uint16_t size) {
  memset(control, 0, sizeof *control);
  h->msg_control = control->buf;
  h->msg_controllen = sizeof control->buf;
  cmsghdr* c = CMSG_FIRSTHDR(h);
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(sizeof size);
  memcpy(CMSG_DATA(c), &size, sizeof size);
}

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
  SegmentControl controls[kChunk];
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
      if (n > 1) AttachSegmentSize(&h, &controls[m], static_cast<uint16_t>(b.lengths.data[at]));
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
    if (n > 1 && IsSegmentationRefused(err)) {
      // Send this group as plain datagrams instead (one destination: CheckGroups) and tell the caller.
      b.refused[0]++;
      b.refused[1] = err;
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
  CheckSlots(env, b.arena, b.slot, b.lengths, b.max);
  if (withSegmentSizes) {
    RequireCapacity(env, "segmentSizes", segs.length, static_cast<uint64_t>(b.max));
    b.segmentSizes = segs.data;  // non-null whenever max > 0, which is all the loop needs
  }
  RequireCapacity(env, "addrs", b.addrs.length, kAddrSlot * static_cast<uint64_t>(b.max));
  return b;
}

int64_t ReceiveDatagrams(Napi::Env env, const RecvBatch& b) {
  mmsghdr msgs[kChunk];
  iovec iov[kChunk];
  SockAddr names[kChunk];
  GroControl controls[kChunk];
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
      if (b.segmentSizes != nullptr) {
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
      if (b.segmentSizes != nullptr) b.segmentSizes[count + i] = GroSegmentSize(&h);
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

void CheckSendBatch(Napi::Env env, const SendBatch& b) {
  CheckSlices(env, b.arena, b.offsets, b.lengths, b.count);
  RequireCapacity(env, "addrs", b.addrs.length, kAddrSlot * static_cast<uint64_t>(b.count));
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
