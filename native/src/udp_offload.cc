// UDP segmentation offloads: sendmmsgGso (UDP_SEGMENT: one sendmsg carries a group of equal-sized datagrams the
// kernel splits) and recvmmsgGro (UDP_GRO: one recvmsg may return several datagrams of one flow back to back,
// with their segment size in a cmsg). Grouping decisions are made in TypeScript (src/conn/gso.ts); this file
// validates the groups and does the syscalls.
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>

#include <algorithm>
#include <string>

#include "args.h"
#include "bindings.h"
#include "errors.h"
#include "fdio.h"
#include "udp.h"

namespace tunvpn {

namespace {

constexpr int kChunk = 64;                  // messages per sendmmsg/recvmmsg syscall
constexpr int kMaxSegments = 64;            // UDP_MAX_SEGMENTS: the kernel's limit per UDP_SEGMENT send
constexpr size_t kMaxGroupBytes = 65507;    // largest UDP payload over IPv4 (65535 - 20 - 8)
constexpr int kMaxSoftRetries = 8;          // queued ICMP-style errors skipped per recvmmsg call
constexpr size_t kGroControlBytes = 64;     // room for the UDP_GRO cmsg (an int) and then some

// A control buffer with the alignment cmsghdr needs.
union SegmentControl {
  cmsghdr align;
  char buf[CMSG_SPACE(sizeof(uint16_t))];
};
union GroControl {
  cmsghdr align;
  char buf[kGroControlBytes];
};

// Checks the groups against the datagrams: sizes 1..kMaxSegments summing to count, one destination per group,
// every datagram but the last no shorter than the first, none longer, total bytes within one UDP payload.
void CheckGroups(Napi::Env env, const Int32View& lengths, const ByteView& addrs, size_t count, const Int32View& groups,
                 size_t groupCount) {
  RequireCapacity(env, "groups", groups.length, groupCount);
  size_t first = 0;
  for (size_t g = 0; g < groupCount; g++) {
    int64_t n = groups.data[g];
    std::string where = "group " + std::to_string(g);
    if (n < 1 || n > kMaxSegments) ThrowRangeError(env, where + " has " + std::to_string(n) + " datagrams (1..64)");
    if (first + static_cast<size_t>(n) > count) ThrowRangeError(env, "groups cover more than count datagrams");
    const uint8_t* addr = addrs.data + first * kAddrSlot;
    if (addr[0] != 4 && addr[0] != 6) ThrowRangeError(env, where + " has address family " + std::to_string(addr[0]));
    int32_t size = lengths.data[first];
    size_t total = 0;
    for (size_t k = 0; k < static_cast<size_t>(n); k++) {
      size_t i = first + k;
      int32_t len = lengths.data[i];
      if (n > 1 && (len < 1 || len > size || (len < size && k + 1 < static_cast<size_t>(n)))) {
        ThrowRangeError(env, where + ": datagram " + std::to_string(i) + " of " + std::to_string(len) +
                                 " bytes does not fit segment size " + std::to_string(size));
      }
      if (k > 0 && memcmp(addr, addrs.data + i * kAddrSlot, kAddrSlot) != 0) {
        ThrowRangeError(env, where + ": datagram " + std::to_string(i) + " has another destination");
      }
      total += static_cast<size_t>(len);
    }
    if (n > 1 && total > kMaxGroupBytes) ThrowRangeError(env, where + " exceeds " + std::to_string(kMaxGroupBytes) + " bytes");
    first += static_cast<size_t>(n);
  }
  if (first != count) ThrowRangeError(env, "groups cover " + std::to_string(first) + " of " + std::to_string(count) + " datagrams");
}

// Sends datagrams [first, first+n) to one destination without segmentation. Returns how many were handled
// (per-datagram errors skip the datagram); stops early on EAGAIN (sets *blocked) or a socket error (sets *fatal).
size_t SendPlain(int fd, const ByteView& arena, const Int32View& offsets, const Int32View& lengths, const SockAddr& to,
                 socklen_t toLen, size_t first, size_t n, bool* blocked, int* fatal) {
  mmsghdr msgs[kMaxSegments];
  iovec iov[kMaxSegments];
  memset(msgs, 0, sizeof(mmsghdr) * n);
  for (size_t k = 0; k < n; k++) {
    iov[k].iov_base = arena.data + offsets.data[first + k];
    iov[k].iov_len = static_cast<size_t>(lengths.data[first + k]);
    msgs[k].msg_hdr.msg_name = const_cast<SockAddr*>(&to);
    msgs[k].msg_hdr.msg_namelen = toLen;
    msgs[k].msg_hdr.msg_iov = &iov[k];
    msgs[k].msg_hdr.msg_iovlen = 1;
  }
  size_t done = 0;
  while (done < n) {
    int r = sendmmsg(fd, msgs + done, static_cast<unsigned>(n - done), MSG_DONTWAIT);
    if (r > 0) {
      done += static_cast<size_t>(r);
      continue;
    }
    int err = r == 0 ? EAGAIN : errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      *blocked = true;
      break;
    }
    if (IsSocketError(err)) {
      *fatal = err;
      break;
    }
    done++;
  }
  return done;
}

// sendmmsgGso(fd, arena, offsets, lengths, addrs, count, groups, groupCount, refused) -> datagrams handled.
Napi::Value SendmmsgGso(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  ByteView arena = ArgBytes(info, 1, "arena");
  Int32View offsets = ArgInt32s(info, 2, "offsets");
  Int32View lengths = ArgInt32s(info, 3, "lengths");
  ByteView addrs = ArgBytes(info, 4, "addrs");
  auto count = static_cast<size_t>(ArgInt(info, 5, "count", 0, kMaxBatchArg));
  Int32View groups = ArgInt32s(info, 6, "groups");
  auto groupCount = static_cast<size_t>(ArgInt(info, 7, "groupCount", 0, kMaxBatchArg));
  Int32View refused = ArgInt32s(info, 8, "refused");
  RequireCapacity(env, "refused", refused.length, 2);
  CheckSlices(env, arena, offsets, lengths, count);
  RequireCapacity(env, "addrs", addrs.length, kAddrSlot * static_cast<uint64_t>(count));
  CheckGroups(env, lengths, addrs, count, groups, groupCount);
  if (count == 0) return Napi::Number::New(env, 0);

  int domain = 0;
  socklen_t dlen = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dlen) < 0) ThrowErrno(env, errno, "getsockopt(SO_DOMAIN)");

  static thread_local iovec iov[kChunk * kMaxSegments];
  mmsghdr msgs[kChunk];
  SockAddr names[kChunk];
  socklen_t nameLens[kChunk];
  SegmentControl controls[kChunk];
  size_t groupFirst[kChunk];

  size_t done = 0;  // datagrams handled
  size_t g = 0;     // next group
  while (g < groupCount) {
    // Fill up to kChunk messages, one per group.
    int m = 0;
    size_t at = done;
    size_t iv = 0;
    while (m < kChunk && g + m < groupCount) {
      size_t n = static_cast<size_t>(groups.data[g + m]);
      socklen_t len = DecodeSlot(addrs.data + at * kAddrSlot, domain, &names[m]);
      if (len == 0) break;  // unreachable through this socket: handled below
      memset(&msgs[m], 0, sizeof msgs[m]);
      for (size_t k = 0; k < n; k++) {
        iov[iv + k].iov_base = arena.data + offsets.data[at + k];
        iov[iv + k].iov_len = static_cast<size_t>(lengths.data[at + k]);
      }
      msgs[m].msg_hdr.msg_name = &names[m];
      msgs[m].msg_hdr.msg_namelen = len;
      nameLens[m] = len;
      msgs[m].msg_hdr.msg_iov = &iov[iv];
      msgs[m].msg_hdr.msg_iovlen = n;
      if (n > 1) {
        memset(&controls[m], 0, sizeof controls[m]);
        msgs[m].msg_hdr.msg_control = controls[m].buf;
        msgs[m].msg_hdr.msg_controllen = sizeof controls[m].buf;
        cmsghdr* c = CMSG_FIRSTHDR(&msgs[m].msg_hdr);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        auto size = static_cast<uint16_t>(lengths.data[at]);
        memcpy(CMSG_DATA(c), &size, sizeof size);
      }
      groupFirst[m] = at;
      at += n;
      iv += n;
      m++;
    }
    if (m == 0) {  // e.g. an IPv6 destination on an AF_INET socket: skip the group like a per-datagram error
      done += static_cast<size_t>(groups.data[g++]);
      continue;
    }
    int r = sendmmsg(fd, msgs, static_cast<unsigned>(m), MSG_DONTWAIT);
    if (r > 0) {
      for (int k = 0; k < r; k++) done += static_cast<size_t>(groups.data[g + k]);
      g += static_cast<size_t>(r);
      continue;
    }
    int err = r == 0 ? EAGAIN : errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) break;
    if (IsSocketError(err)) {
      if (done > 0) break;
      ThrowErrno(env, err, "sendmmsg(UDP_SEGMENT)");
    }
    auto n = static_cast<size_t>(groups.data[g]);
    if (n > 1 && (err == EIO || err == EINVAL || err == EMSGSIZE)) {
      // The kernel refused the segmentation (no checksum offload on the route's device: EIO; segment larger than
      // the path MTU: EINVAL/EMSGSIZE). Send this group as plain datagrams instead and tell the caller.
      refused.data[0]++;
      refused.data[1] = err;
      bool blocked = false;
      int fatal = 0;
      size_t sent = SendPlain(fd, arena, offsets, lengths, names[0], nameLens[0], groupFirst[0], n, &blocked, &fatal);
      done += sent;
      if (blocked) break;
      if (fatal != 0) {
        if (done > 0) break;
        ThrowErrno(env, fatal, "sendmmsg");
      }
      g++;
      continue;
    }
    done += n;  // ENETUNREACH, EHOSTUNREACH, EPERM, ECONNREFUSED, ENOBUFS...: drop this group
    g++;
  }
  return Napi::Number::New(env, static_cast<double>(done));
}

// recvmmsgGro(fd, arena, slotSize, lengths, addrs, segmentSizes, max) -> messages received (0 on EAGAIN).
// As recvmmsg; in addition segmentSizes[i] is the UDP_GRO segment size of message i (0: one datagram).
Napi::Value RecvmmsgGro(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  ByteView arena = ArgBytes(info, 1, "arena");
  int64_t slot = ArgInt(info, 2, "slotSize", 1, kMaxBatchArg);
  Int32View lengths = ArgInt32s(info, 3, "lengths");
  ByteView addrs = ArgBytes(info, 4, "addrs");
  Int32View segs = ArgInt32s(info, 5, "segmentSizes");
  int64_t max = ArgInt(info, 6, "max", 0, kMaxBatchArg);
  RequireCapacity(env, "arena", arena.length, static_cast<uint64_t>(slot) * static_cast<uint64_t>(max));
  RequireCapacity(env, "lengths", lengths.length, static_cast<uint64_t>(max));
  RequireCapacity(env, "segmentSizes", segs.length, static_cast<uint64_t>(max));
  RequireCapacity(env, "addrs", addrs.length, kAddrSlot * static_cast<uint64_t>(max));

  mmsghdr msgs[kChunk];
  iovec iov[kChunk];
  SockAddr names[kChunk];
  GroControl controls[kChunk];
  int64_t count = 0;
  int soft = 0;
  while (count < max) {
    int n = static_cast<int>(std::min<int64_t>(kChunk, max - count));
    memset(msgs, 0, sizeof(mmsghdr) * n);
    for (int i = 0; i < n; i++) {
      iov[i].iov_base = arena.data + (count + i) * slot;
      iov[i].iov_len = static_cast<size_t>(slot);
      msgs[i].msg_hdr.msg_name = &names[i];
      msgs[i].msg_hdr.msg_namelen = sizeof names[i];
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = controls[i].buf;
      msgs[i].msg_hdr.msg_controllen = sizeof controls[i].buf;
    }
    int r = recvmmsg(fd, msgs, static_cast<unsigned>(n), MSG_DONTWAIT, nullptr);
    if (r < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) break;
      if (IsSoftReceiveError(err) && soft++ < kMaxSoftRetries) continue;
      if (count > 0) break;
      ThrowErrno(env, err, "recvmmsg");
    }
    for (int i = 0; i < r; i++) {
      msghdr& h = msgs[i].msg_hdr;
      bool truncated = (h.msg_flags & MSG_TRUNC) != 0;
      lengths.data[count + i] = truncated ? -1 : static_cast<int32_t>(msgs[i].msg_len);
      int32_t seg = 0;
      if ((h.msg_flags & MSG_CTRUNC) == 0) {
        for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
          if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
            int v;
            memcpy(&v, CMSG_DATA(c), sizeof v);
            seg = v > 0 ? v : 0;
          }
        }
      }
      segs.data[count + i] = seg;
      EncodeSlot(addrs.data + (count + i) * kAddrSlot, names[i], h.msg_namelen);
    }
    count += r;
    if (r < n) break;  // drained (or an error is queued for the next call)
  }
  return Napi::Number::New(env, static_cast<double>(count));
}

}  // namespace

void InitUdpOffload(Napi::Env env, Napi::Object exports, Napi::Object constants) {
  exports.Set("sendmmsgGso", Napi::Function::New(env, SendmmsgGso, "sendmmsgGso"));
  exports.Set("recvmmsgGro", Napi::Function::New(env, RecvmmsgGro, "recvmmsgGro"));
  constants.Set("UDP_MAX_SEGMENTS", kMaxSegments);
}

}  // namespace tunvpn
