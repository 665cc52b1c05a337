// Shared by the UDP bindings (udp.cc, udp_offload.cc): the ADDR_SLOT codec of src/net/addr-slot.ts, the errno
// classes the batch calls act on, and the batch loops (udp_batch.cc) behind recvmmsg/recvmmsgGro and
// sendmmsg/sendmmsgGso.
//
// Local slots ("locals"): the ADDR_SLOT layout for our own end of a datagram, the address it arrived on (receive,
// from IP_PKTINFO / IPV6_PKTINFO) or the source to send it from (send): [0] family 4|6 (0 = none), [2..3] unused
// (0), [4..7] the interface index, little-endian (for IPv4 too), [8..23] the address.
#pragma once

#include <napi.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "args.h"

namespace tunvpn {

constexpr size_t kAddrSlot = 24;  // bytes per address slot (ADDR_SLOT in src/net/addr-slot.ts)
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
// Writes a local slot: family 4 (4 address bytes) or 6 (16), interface index `ifindex`.
void EncodeLocalSlot(uint8_t* slot, int family, const void* address, uint32_t ifindex);
// The interface index of a local slot.
uint32_t LocalSlotIfindex(const uint8_t* slot);
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
  ByteView locals;        // data nullptr: not asked for; else local slot i = where datagram i arrived (family 0:
                          // unknown)
  int64_t max;
};
// Reads and checks the arguments (fd, arena, slotSize, lengths, addrs, [segmentSizes,] max[, locals]) of
// recvmmsg, or of recvmmsgGro when `withSegmentSizes`.
RecvBatch ArgRecvBatch(const Napi::CallbackInfo& info, bool withSegmentSizes);
// Receives up to b.max datagrams without blocking; returns how many. Throws for `recvmmsg` only when nothing
// was received (otherwise the next call meets the error).
int64_t ReceiveDatagrams(Napi::Env env, const RecvBatch& b);

// Indices of a send report (Int32Array): what sendmmsg/sendmmsgGso tell the caller besides the count.
constexpr size_t kReportGroupsRefused = 0;  // groups the kernel would not segment (sent plain instead)
constexpr size_t kReportRefusedErrno = 1;   // the errno of the last such refusal
constexpr size_t kReportUnsourced = 2;      // datagrams whose source (local slot) the kernel refused: sent without
constexpr size_t kReportLength = 3;

// A send batch: datagram i is arena[offsets[i], +lengths[i]) to address slot i of addrs, from local slot i of
// locals when that has a family (else the kernel chooses the source).
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
  ByteView locals;        // data nullptr: no sources; else one local slot per datagram. A source the kernel
                          // refuses (not ours: the datagram goes out without it) is dropped: its family byte set
                          // to 0 here, report[kReportUnsourced]++
  int32_t* report;        // kReport* entries (all kReportLength with locals; [0..1] with groups; else unused)
};
// Reads the arguments 0..5 shared by sendmmsg and sendmmsgGso (fd, arena, offsets, lengths, addrs, count) as a
// batch without groups or sources. Checks only their types and ranges: see CheckSendBatch.
SendBatch ArgSendBatch(const Napi::CallbackInfo& info);
// Reads the optional argument `locals` at `index`: a Uint8Array, or undefined/null (or absent) for none.
ByteView ArgOptionalLocals(const Napi::CallbackInfo& info, size_t index);
// Checks that every slice lies in the arena and that addrs (and locals, when given) have a slot for every
// datagram.
void CheckSendBatch(Napi::Env env, const SendBatch& b);
// Sends the batch without blocking; returns the datagrams handled before EAGAIN. A per-destination error skips
// that datagram (or group) and counts it as handled; a socket error throws when nothing was handled.
size_t SendDatagrams(Napi::Env env, const SendBatch& b);

}  // namespace tunvpn
