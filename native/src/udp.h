// Shared by the UDP bindings (udp.cc, udp_offload.cc): the ADDR_SLOT codec of src/native/addon.ts and the errno
// classes the batch calls act on.
#pragma once

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

namespace tunvpn {

constexpr size_t kAddrSlot = 24;  // bytes per address slot (ADDR_SLOT in addon.ts)

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

}  // namespace tunvpn
