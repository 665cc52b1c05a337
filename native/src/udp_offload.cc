// UDP segmentation offloads: sendmmsgGso (UDP_SEGMENT: one sendmsg carries a group of equal-sized datagrams the
// kernel splits) and recvmmsgGro (UDP_GRO: one recvmsg may return several datagrams of one flow back to back,
// with their segment size in a cmsg). Grouping decisions are made in TypeScript (src/conn/gso.ts); this file
// validates the groups; the syscalls are the loops of udp_batch.cc, shared with sendmmsg and recvmmsg.
#include <string.h>

#include <string>

#include "args.h"
#include "bindings.h"
#include "errors.h"
#include "fdio.h"
#include "udp.h"

namespace tunvpn {

namespace {

constexpr size_t kMaxGroupBytes = 65507;  // largest UDP payload over IPv4 (65535 - 20 - 8)

// Local slots name the same source: both none (family 0; the rest of the slot is ignored), or equal bytes.
bool SameSource(const uint8_t* a, const uint8_t* b) {
  return (a[0] == 0 && b[0] == 0) || memcmp(a, b, kAddrSlot) == 0;
}

// Checks the groups against the datagrams: sizes 1..kMaxSegments summing to count, one destination (and one
// source, with locals) per group, every datagram but the last no shorter than the first, none longer, total bytes
// within one UDP payload.
void CheckGroups(Napi::Env env, const SendBatch& b, const Int32View& groups) {
  const Int32View& lengths = b.lengths;
  const ByteView& addrs = b.addrs;
  size_t count = b.count;
  size_t groupCount = b.groupCount;
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
      if (k > 0 && b.locals.data != nullptr && !SameSource(b.locals.data + first * kAddrSlot, b.locals.data + i * kAddrSlot)) {
        ThrowRangeError(env, where + ": datagram " + std::to_string(i) + " has another source");
      }
      total += static_cast<size_t>(len);
    }
    if (n > 1 && total > kMaxGroupBytes) ThrowRangeError(env, where + " exceeds " + std::to_string(kMaxGroupBytes) + " bytes");
    first += static_cast<size_t>(n);
  }
  if (first != count) ThrowRangeError(env, "groups cover " + std::to_string(first) + " of " + std::to_string(count) + " datagrams");
}

// sendmmsgGso(fd, arena, offsets, lengths, addrs, count, groups, groupCount, report[, locals]) -> datagrams handled.
Napi::Value SendmmsgGso(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SendBatch b = ArgSendBatch(info);
  Int32View groups = ArgInt32s(info, 6, "groups");
  b.groupCount = static_cast<size_t>(ArgInt(info, 7, "groupCount", 0, kMaxBatchArg));
  Int32View report = ArgInt32s(info, 8, "report");
  ByteView locals = ArgOptionalLocals(info, 9);
  RequireCapacity(env, "report", report.length, locals.data != nullptr ? kReportLength : 2);
  b.locals = locals;
  CheckSendBatch(env, b);
  CheckGroups(env, b, groups);
  b.groups = groups.data;
  b.report = report.data;
  return Napi::Number::New(env, static_cast<double>(SendDatagrams(env, b)));
}

// recvmmsgGro(fd, arena, slotSize, lengths, addrs, segmentSizes, max[, locals]) -> messages received (0 on EAGAIN).
// As recvmmsg; in addition segmentSizes[i] is the UDP_GRO segment size of message i (0: one datagram).
Napi::Value RecvmmsgGro(const Napi::CallbackInfo& info) {
  RecvBatch b = ArgRecvBatch(info, true);
  return Napi::Number::New(info.Env(), static_cast<double>(ReceiveDatagrams(info.Env(), b)));
}

}  // namespace

void InitUdpOffload(Napi::Env env, Napi::Object exports, Napi::Object constants) {
  exports.Set("sendmmsgGso", Napi::Function::New(env, SendmmsgGso, "sendmmsgGso"));
  exports.Set("recvmmsgGro", Napi::Function::New(env, RecvmmsgGro, "recvmmsgGro"));
  constants.Set("UDP_MAX_SEGMENTS", kMaxSegments);
}

}  // namespace tunvpn
