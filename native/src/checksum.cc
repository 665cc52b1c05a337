// The Internet checksum (RFC 1071) over a batch of byte ranges in one call: the per-byte cost of cutting TCP/UDP
// super-packets read from the TUN into segments (src/tun/offload/split.ts decides what is summed and where the
// result goes).
#include <string.h>

#include "args.h"
#include "bindings.h"
#include "errors.h"

namespace tunvpn {

namespace {

// The ones' complement sum of the big-endian 16-bit words of p[0, len) plus `initial`, folded to 16 bits (not
// complemented). An odd last byte is padded with a zero byte.
uint32_t Sum16(const uint8_t* p, size_t len, uint64_t initial) {
  // The ones' complement sum does not depend on byte order (RFC 1071 §2(B)): sum the bytes as host-order words,
  // fold, and swap the two bytes of the result once. Eight bytes per step as two 32-bit halves in a 64-bit
  // accumulator: no carry is lost below 2^32 steps.
  uint64_t sum = 0;
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    sum += (w & 0xffffffffULL) + (w >> 32);
  }
  for (; i + 2 <= len; i += 2) {
    uint16_t w;
    memcpy(&w, p + i, 2);
    sum += w;
  }
  if (i < len) {
    uint8_t last[2] = {p[i], 0};
    uint16_t w;
    memcpy(&w, last, 2);
    sum += w;
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  uint64_t network = __builtin_bswap16(static_cast<uint16_t>(sum)) + initial;
  while (network >> 16) network = (network & 0xffff) + (network >> 16);
  return static_cast<uint32_t>(network);
}

// checksumBatch(buf, offsets, lengths, sums, count): for each i < count, sums[i] (an unfolded partial sum, e.g. of
// a pseudo-header, 0..2^31-1) becomes the folded 16-bit ones' complement sum of buf[offsets[i], +lengths[i]) plus
// sums[i]. Every range is checked before any is summed (RangeError). Returns count.
Napi::Value ChecksumBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ByteView buf = ArgBytes(info, 0, "buf");
  Int32View offsets = ArgInt32s(info, 1, "offsets");
  Int32View lengths = ArgInt32s(info, 2, "lengths");
  Int32View sums = ArgInt32s(info, 3, "sums");
  size_t count = static_cast<size_t>(ArgInt(info, 4, "count", 0, 1 << 20));
  RequireCapacity(env, "offsets", offsets.length, count);
  RequireCapacity(env, "lengths", lengths.length, count);
  RequireCapacity(env, "sums", sums.length, count);
  for (size_t i = 0; i < count; i++) {
    int64_t off = offsets.data[i];
    int64_t len = lengths.data[i];
    if (off < 0 || len < 0 || static_cast<uint64_t>(off + len) > buf.length || sums.data[i] < 0) {
      ThrowRangeError(env, "range " + std::to_string(i) + " lies outside the buffer");
    }
  }
  for (size_t i = 0; i < count; i++) {
    sums.data[i] = static_cast<int32_t>(Sum16(buf.data + offsets.data[i], static_cast<size_t>(lengths.data[i]),
                                              static_cast<uint64_t>(sums.data[i])));
  }
  return Napi::Number::New(env, static_cast<double>(count));
}

}  // namespace

void InitChecksum(Napi::Env env, Napi::Object exports) {
  exports.Set("checksumBatch", Napi::Function::New(env, ChecksumBatch, "checksumBatch"));
}

}  // namespace tunvpn
