// Shared by the UDP bindings (udp.cc, udp_offload.cc): the ADDR_SLOT codec of src/native/addon.ts, the errno
// classes the batch calls act on, and the batch loops (udp_batch.cc) behind recvmmsg/recvmmsgGro and
// sendmmsg/sendmmsgGso.
#pragma once

#include <napi.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "args.h"

namespace tunvpn {

constexpr size_t kAddrSlot = 24;  // bytes per address slot (ADDR_SLOT in addon.ts)
constexpr int kMaxSegments = 64;  // UDP_MAX_SEGMENTS: the kernel's limit of datagrams per UDP_SEGMENT send

union SockAddr {
  sockaddr sa;
  sockaddr_in in4;
  sockaddr_in6 in6;
};

// Writes the source address into a slot. IPv4-mapped IPv6 addresses are reported as family 4.
void EncodeSlot(uint8_t* slot, const SockAddr& a, socklen_t len);
// Fills `a` from a slot for a socket of `domain`. Returns the sockaddr length, or 0 when the destination cannot
// be reached through this socket (an IPv6 destination on an AF_INET socket).
socklen_t DecodeSlot(const uint8_t* slot, int domain, SockAddr* a);
// Errors that concern the socket itself (or a caller bug), not one destination.
bool IsSocketError(int err);
// Errors a UDP socket may report on receive because of an earlier ICMP error; they are consumed by reading them.
bool IsSoftReceiveError(int err);

// ---- batch loops (udp_batch.cc) ----------------------------------------------------------------------------

// A receive batch: datagram i goes to arena[i*slot, +slot), its length to lengths[i] (-1: truncated), its
// source to address slot i of addrs. Borrowed views: valid during the current call only.
struct RecvBatch {
  int fd;
  ByteView arena;
  int64_t slot;
  Int32View lengths;
  ByteView addrs;
  int32_t* segmentSizes;  // nullptr: plain recvmmsg; else UDP_GRO: segmentSizes[i] = segment size (0: one datagram)
  int64_t max;
};
// Reads and checks the arguments (fd, arena, slotSize, lengths, addrs, [segmentSizes,] max) of recvmmsg, or of
// recvmmsgGro when `withSegmentSizes`.
RecvBatch ArgRecvBatch(const Napi::CallbackInfo& info, bool withSegmentSizes);
// Receives up to b.max datagrams without blocking; returns how many. Throws for `recvmmsg` only when nothing
// was received (otherwise the next call meets the error).
int64_t ReceiveDatagrams(Napi::Env env, const RecvBatch& b);

// A send batch: datagram i is arena[offsets[i], +lengths[i]) to address slot i of addrs.
struct SendBatch {
  int fd;
  ByteView arena;
  Int32View offsets;
  Int32View lengths;
  ByteView addrs;
  size_t count;           // datagrams
  const int32_t* groups;  // nullptr: each datagram alone (sendmmsg); else group sizes, checked by the caller, a
                          // group of more than one sent as one UDP_SEGMENT message (sendmmsgGso)
  size_t groupCount;      // == count when groups is nullptr
  int32_t* refused;       // with groups: [groups the kernel would not segment (sent plain instead), last errno]
};
// Reads the arguments 0..5 shared by sendmmsg and sendmmsgGso (fd, arena, offsets, lengths, addrs, count) as a
// batch without groups. Checks only their types and ranges: see CheckSendBatch.
SendBatch ArgSendBatch(const Napi::CallbackInfo& info);
// Checks that every slice lies in the arena and that addrs has a slot for every datagram.
void CheckSendBatch(Napi::Env env, const SendBatch& b);
// Sends the batch without blocking; returns the datagrams handled before EAGAIN. A per-destination error skips
// that datagram (or group) and counts it as handled; a socket error throws when nothing was handled.
size_t SendDatagrams(Napi::Env env, const SendBatch& b);

}  // namespace tunvpn
