// UDP sockets: open/bind, int socket options, and the recvmmsg/sendmmsg bindings (loops in udp_batch.cc) with
// the ADDR_SLOT encoding of src/net/addr-slot.ts:
//   [0] family 4|6 (0 = empty)  [1] reserved  [2..3] port BE  [4..7] IPv6 scope id LE  [8..23] address
// and local slots in the same layout, [4..7] holding the interface index (udp.h).
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <string>

#include "args.h"
#include "bindings.h"
#include "errors.h"
#include "udp.h"

namespace tunvpn {

namespace {
constexpr size_t kAddrOffset = 8;     // address bytes start here in a slot
constexpr size_t kScopeOffset = 4;    // IPv6 scope id (little-endian) here
constexpr size_t kPortOffset = 2;     // port (big-endian) here
}  // namespace

// ---- address slots -------------------------------------------------------------------------------------

// Writes the source address into a slot. IPv4-mapped IPv6 addresses are reported as family 4.
void EncodeSlot(uint8_t* slot, const SockAddr& a, socklen_t len) {
  memset(slot, 0, kAddrSlot);
  if (a.sa.sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    slot[0] = 4;
    memcpy(slot + kPortOffset, &a.in4.sin_port, 2);
    memcpy(slot + kAddrOffset, &a.in4.sin_addr, 4);
  } else if (a.sa.sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    memcpy(slot + kPortOffset, &a.in6.sin6_port, 2);
    if (IN6_IS_ADDR_V4MAPPED(&a.in6.sin6_addr)) {
      slot[0] = 4;
      memcpy(slot + kAddrOffset, a.in6.sin6_addr.s6_addr + 12, 4);
    } else {
      slot[0] = 6;
      uint32_t scope = a.in6.sin6_scope_id;
      for (int i = 0; i < 4; i++) slot[kScopeOffset + i] = static_cast<uint8_t>(scope >> (8 * i));
      memcpy(slot + kAddrOffset, &a.in6.sin6_addr, 16);
    }
  }
}

// Fills `a` from a slot for a socket of `domain`. Returns the sockaddr length, or 0 when the destination cannot
// be reached through this socket (an IPv6 destination on an AF_INET socket).
socklen_t DecodeSlot(const uint8_t* slot, int domain, SockAddr* a) {
  memset(a, 0, sizeof *a);
  if (slot[0] == 4 && domain == AF_INET) {
    a->in4.sin_family = AF_INET;
    memcpy(&a->in4.sin_port, slot + kPortOffset, 2);
    memcpy(&a->in4.sin_addr, slot + kAddrOffset, 4);
    return sizeof(sockaddr_in);
  }
  if (domain != AF_INET6) return 0;
  a->in6.sin6_family = AF_INET6;
  memcpy(&a->in6.sin6_port, slot + kPortOffset, 2);
  if (slot[0] == 4) {  // ::ffff:a.b.c.d
    a->in6.sin6_addr.s6_addr[10] = 0xff;
    a->in6.sin6_addr.s6_addr[11] = 0xff;
    memcpy(a->in6.sin6_addr.s6_addr + 12, slot + kAddrOffset, 4);
  } else {
    uint32_t scope = 0;
    for (int i = 0; i < 4; i++) scope |= static_cast<uint32_t>(slot[kScopeOffset + i]) << (8 * i);
    a->in6.sin6_scope_id = scope;
    memcpy(&a->in6.sin6_addr, slot + kAddrOffset, 16);
  }
  return sizeof(sockaddr_in6);
}

// Writes a local slot: family 4 (4 address bytes) or 6 (16), interface index `ifindex`.
void EncodeLocalSlot(uint8_t* slot, int family, const void* address, uint32_t ifindex) {
  memset(slot, 0, kAddrSlot);
  slot[0] = static_cast<uint8_t>(family);
  for (int i = 0; i < 4; i++) slot[kScopeOffset + i] = static_cast<uint8_t>(ifindex >> (8 * i));
  memcpy(slot + kAddrOffset, address, family == 4 ? 4 : 16);
}

// The interface index of a local slot.
uint32_t LocalSlotIfindex(const uint8_t* slot) {
  uint32_t index = 0;
  for (int i = 0; i < 4; i++) index |= static_cast<uint32_t>(slot[kScopeOffset + i]) << (8 * i);
  return index;
}

// Errors that concern the socket itself (or a caller bug), not one destination.
bool IsSocketError(int err) {
  switch (err) {
    case EBADF:
    case ENOTSOCK:
    case EFAULT:
    case EOPNOTSUPP:
    case EDESTADDRREQ:
    case ENOTCONN:
    case EPIPE:
      return true;
    default:
      return false;
  }
}

// Errors a UDP socket may report on receive because of an earlier ICMP error; they are consumed by reading them.
bool IsSoftReceiveError(int err) {
  switch (err) {
    case ECONNREFUSED:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EHOSTDOWN:
    case ENETDOWN:
    case EMSGSIZE:
    case EPROTO:
      return true;
    default:
      return false;
  }
}

namespace {

constexpr size_t kMaxAddressText = 64;

// ---- bindings --------------------------------------------------------------------------------------------

// Parses "addr" or "addr%scope" (scope: interface name or number) for `family`; '' = any.
void ParseAddress(Napi::Env env, int family, const std::string& text, SockAddr* a, socklen_t* len) {
  memset(a, 0, sizeof *a);
  if (family == 4) {
    a->in4.sin_family = AF_INET;
    *len = sizeof(sockaddr_in);
    if (!text.empty() && inet_pton(AF_INET, text.c_str(), &a->in4.sin_addr) != 1) {
      ThrowErrno(env, EINVAL, "inet_pton", ("not an IPv4 address: '" + text + "'").c_str());
    }
    return;
  }
  a->in6.sin6_family = AF_INET6;
  *len = sizeof(sockaddr_in6);
  if (text.empty()) return;
  std::string host = text;
  size_t pct = text.find('%');
  if (pct != std::string::npos) {
    host = text.substr(0, pct);
    std::string scope = text.substr(pct + 1);
    char* end = nullptr;
    unsigned long n = strtoul(scope.c_str(), &end, 10);
    unsigned index = (!scope.empty() && *end == '\0') ? static_cast<unsigned>(n) : if_nametoindex(scope.c_str());
    if (index == 0) ThrowErrno(env, ENODEV, "if_nametoindex", ("unknown scope '" + scope + "'").c_str());
    a->in6.sin6_scope_id = index;
  }
  if (inet_pton(AF_INET6, host.c_str(), &a->in6.sin6_addr) != 1) {
    ThrowErrno(env, EINVAL, "inet_pton", ("not an IPv6 address: '" + text + "'").c_str());
  }
}

// udpOpen(family, address, port, v6only) -> { fd, port }
Napi::Value UdpOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int family = static_cast<int>(ArgInt(info, 0, "family", 4, 6));
  if (family != 4 && family != 6) ThrowRangeError(env, "The \"family\" argument must be 4 or 6");
  std::string address = ArgString(info, 1, "address", kMaxAddressText);
  auto port = static_cast<uint16_t>(ArgInt(info, 2, "port", 0, 65535));
  bool v6only = ArgBool(info, 3, "v6only");

  SockAddr a;
  socklen_t len;
  ParseAddress(env, family, address, &a, &len);
  if (family == 4) {
    a.in4.sin_port = htons(port);
  } else {
    a.in6.sin6_port = htons(port);
  }

  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) ThrowErrno(env, errno, "socket");
  const char* failed = nullptr;
  int off = 0, only = v6only ? 1 : 0;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &off, sizeof off) < 0) {
    failed = "setsockopt(SO_REUSEADDR)";
  } else if (family == 6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof only) < 0) {
    failed = "setsockopt(IPV6_V6ONLY)";
  } else if (bind(fd, &a.sa, len) < 0) {
    failed = "bind";
  } else {
    len = sizeof a;
    if (getsockname(fd, &a.sa, &len) < 0) failed = "getsockname";
  }
  if (failed != nullptr) CloseAndThrowErrno(env, fd, failed);
  Napi::Object result = Napi::Object::New(env);
  result.Set("fd", Napi::Number::New(env, fd));
  result.Set("port", Napi::Number::New(env, ntohs(family == 4 ? a.in4.sin_port : a.in6.sin6_port)));
  return result;
}

Napi::Value SetsockoptInt(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  auto level = static_cast<int>(ArgInt(info, 1, "level", INT32_MIN, INT32_MAX));
  auto name = static_cast<int>(ArgInt(info, 2, "name", INT32_MIN, INT32_MAX));
  auto value = static_cast<int>(ArgInt(info, 3, "value", INT32_MIN, INT32_MAX));
  if (setsockopt(fd, level, name, &value, sizeof value) < 0) ThrowErrno(info.Env(), errno, "setsockopt");
  return info.Env().Undefined();
}

Napi::Value GetsockoptInt(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  auto level = static_cast<int>(ArgInt(info, 1, "level", INT32_MIN, INT32_MAX));
  auto name = static_cast<int>(ArgInt(info, 2, "name", INT32_MIN, INT32_MAX));
  int value = 0;
  socklen_t len = sizeof value;
  if (getsockopt(fd, level, name, &value, &len) < 0) ThrowErrno(info.Env(), errno, "getsockopt");
  return Napi::Number::New(info.Env(), value);
}

// ifNameToIndex(name) -> the index of the interface `name` in this network namespace, 0 when there is none
// (if_nametoindex(3)); for IPv6 zones such as fe80::1%eth0.
Napi::Value IfNameToIndex(const Napi::CallbackInfo& info) {
  std::string name = ArgString(info, 0, "name", IF_NAMESIZE - 1);
  return Napi::Number::New(info.Env(), if_nametoindex(name.c_str()));
}

// ifIndexToName(index) -> the name of the interface with that index, or undefined when there is none
// (if_indextoname(3)).
Napi::Value IfIndexToName(const Napi::CallbackInfo& info) {
  auto index = static_cast<unsigned>(ArgInt(info, 0, "index", 1, UINT32_MAX));
  char name[IF_NAMESIZE];
  if (if_indextoname(index, name) == nullptr) return info.Env().Undefined();
  return Napi::String::New(info.Env(), name);
}

// recvmmsg(fd, arena, slotSize, lengths, addrs, max[, locals]) -> datagrams received (0 on EAGAIN).
Napi::Value Recvmmsg(const Napi::CallbackInfo& info) {
  RecvBatch b = ArgRecvBatch(info, false);
  return Napi::Number::New(info.Env(), static_cast<double>(ReceiveDatagrams(info.Env(), b)));
}

// sendmmsg(fd, arena, offsets, lengths, addrs, count[, locals, report]) -> datagrams handled before EAGAIN.
// Per-destination errors skip that datagram (counted as handled); socket errors throw when nothing was handled.
Napi::Value Sendmmsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SendBatch b = ArgSendBatch(info);
  ByteView locals = ArgOptionalLocals(info, 6);
  if (locals.data != nullptr) {
    Int32View report = ArgInt32s(info, 7, "report");
    RequireCapacity(env, "report", report.length, kReportLength);
    b.locals = locals;
    b.report = report.data;
  }
  CheckSendBatch(env, b);
  for (size_t i = 0; i < b.count; i++) {
    uint8_t family = b.addrs.data[i * kAddrSlot];
    if (family != 4 && family != 6) {
      ThrowRangeError(env, "address slot " + std::to_string(i) + " has family " + std::to_string(family) +
                               " (expected 4 or 6)");
    }
  }
  return Napi::Number::New(env, static_cast<double>(SendDatagrams(env, b)));
}

}  // namespace

void InitUdp(Napi::Env env, Napi::Object exports, Napi::Object constants) {
  exports.Set("udpOpen", Napi::Function::New(env, UdpOpen, "udpOpen"));
  exports.Set("setsockoptInt", Napi::Function::New(env, SetsockoptInt, "setsockoptInt"));
  exports.Set("getsockoptInt", Napi::Function::New(env, GetsockoptInt, "getsockoptInt"));
  exports.Set("ifNameToIndex", Napi::Function::New(env, IfNameToIndex, "ifNameToIndex"));
  exports.Set("ifIndexToName", Napi::Function::New(env, IfIndexToName, "ifIndexToName"));
  exports.Set("recvmmsg", Napi::Function::New(env, Recvmmsg, "recvmmsg"));
  exports.Set("sendmmsg", Napi::Function::New(env, Sendmmsg, "sendmmsg"));

  constants.Set("SOL_SOCKET", SOL_SOCKET);
  constants.Set("SO_MARK", SO_MARK);
  constants.Set("SO_RCVBUF", SO_RCVBUF);
  constants.Set("SO_SNDBUF", SO_SNDBUF);
  constants.Set("SO_RCVBUFFORCE", SO_RCVBUFFORCE);
  constants.Set("SO_SNDBUFFORCE", SO_SNDBUFFORCE);
  constants.Set("SOL_UDP", SOL_UDP);
  constants.Set("UDP_SEGMENT", UDP_SEGMENT);
  constants.Set("UDP_GRO", UDP_GRO);
  constants.Set("IPPROTO_IP", static_cast<int>(IPPROTO_IP));
  constants.Set("IP_PKTINFO", IP_PKTINFO);
  constants.Set("IPPROTO_IPV6", static_cast<int>(IPPROTO_IPV6));
  constants.Set("IPV6_RECVPKTINFO", IPV6_RECVPKTINFO);
}

}  // namespace tunvpn
