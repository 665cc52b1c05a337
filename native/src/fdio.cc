// Generic fd I/O: close, write, and batched read/write loops for packet fds such as a TUN.
#include "fdio.h"

#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

#include <string>

#include "bindings.h"
#include "errors.h"

namespace tunvpn {

void CheckSlices(Napi::Env env, const ByteView& arena, const Int32View& offsets, const Int32View& lengths,
                 size_t count) {
  RequireCapacity(env, "offsets", offsets.length, count);
  RequireCapacity(env, "lengths", lengths.length, count);
  for (size_t i = 0; i < count; i++) {
    int64_t off = offsets.data[i];
    int64_t len = lengths.data[i];
    if (off < 0 || len < 0 || static_cast<uint64_t>(off + len) > arena.length) {
      ThrowRangeError(env, "slice " + std::to_string(i) + " [" + std::to_string(off) + ", +" + std::to_string(len) +
                               ") is outside the arena of " + std::to_string(arena.length) + " bytes");
    }
  }
}

void CheckSlots(Napi::Env env, const ByteView& arena, int64_t slot, const Int32View& lengths, int64_t max) {
  RequireCapacity(env, "arena", arena.length, static_cast<uint64_t>(slot) * static_cast<uint64_t>(max));
  RequireCapacity(env, "lengths", lengths.length, static_cast<uint64_t>(max));
}

namespace {

constexpr int64_t kMaxHeadBytes = 256;  // largest per-write header (a virtio_net_hdr is 10 or 12 bytes)
constexpr int32_t kMaxWriteParts = 128; // slices per writev after the header (a GRO super-packet has at most 64)

Napi::Value Close(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  // On Linux the fd is released even when close() reports EINTR, so EINTR is success.
  if (close(fd) < 0 && errno != EINTR) ThrowErrno(info.Env(), errno, "close");
  return info.Env().Undefined();
}

// write(fd, buf, offset, length) -> bytes written, or -1 on EAGAIN.
Napi::Value Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  ByteView buf = ArgBytes(info, 1, "buf");
  int64_t offset = ArgInt(info, 2, "offset", 0, kMaxBatchArg);
  int64_t length = ArgInt(info, 3, "length", 0, kMaxBatchArg);
  RequireCapacity(env, "buf", buf.length, static_cast<uint64_t>(offset + length));
  ssize_t n = RetryOnEintr([&] { return write(fd, buf.data + offset, static_cast<size_t>(length)); });
  return ByteCountOrBlocked(env, n, "write");
}

// readBatch(fd, arena, slotSize, lengths, max) -> packets read.
// A hard error throws only when nothing was read yet; otherwise the packets so far are returned and the next
// call sees the error.
Napi::Value ReadBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  ByteView arena = ArgBytes(info, 1, "arena");
  int64_t slot = ArgInt(info, 2, "slotSize", 1, kMaxBatchArg);
  Int32View lengths = ArgInt32s(info, 3, "lengths");
  int64_t max = ArgInt(info, 4, "max", 0, kMaxBatchArg);
  CheckSlots(env, arena, slot, lengths, max);

  int64_t count = 0;
  while (count < max) {
    ssize_t n = read(fd, arena.data + count * slot, static_cast<size_t>(slot));
    if (n >= 0) {
      lengths.data[count++] = static_cast<int32_t>(n);
      continue;
    }
    if (!RetryBatchCall(env, errno, count > 0, "read")) break;
  }
  return Napi::Number::New(env, static_cast<double>(count));
}

// writeBatch(fd, arena, offsets, lengths, count) -> packets written before EAGAIN.
// A hard error on the first packet throws; on a later packet the count so far is returned, so the caller's next
// call (starting at that packet) throws for it.
Napi::Value WriteBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  ByteView arena = ArgBytes(info, 1, "arena");
  Int32View offsets = ArgInt32s(info, 2, "offsets");
  Int32View lengths = ArgInt32s(info, 3, "lengths");
  auto count = static_cast<size_t>(ArgInt(info, 4, "count", 0, kMaxBatchArg));
  CheckSlices(env, arena, offsets, lengths, count);

  size_t done = 0;
  while (done < count) {
    ssize_t n = write(fd, arena.data + offsets.data[done], static_cast<size_t>(lengths.data[done]));
    if (n >= 0) {
      done++;
      continue;
    }
    if (!RetryBatchCall(env, errno, done > 0, "write")) break;
  }
  return Napi::Number::New(env, static_cast<double>(done));
}

// writevBatch(fd, heads, headSize, arena, offsets, lengths, parts, count) -> writes done before EAGAIN.
// Write w is one writev(2) of heads[w*headSize, +headSize) (skipped when headSize is 0) followed by the next
// parts[w] slices of the arena (slices are consumed in order across writes). Error handling as writeBatch.
Napi::Value WritevBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  ByteView heads = ArgBytes(info, 1, "heads");
  auto headSize = static_cast<size_t>(ArgInt(info, 2, "headSize", 0, kMaxHeadBytes));
  ByteView arena = ArgBytes(info, 3, "arena");
  Int32View offsets = ArgInt32s(info, 4, "offsets");
  Int32View lengths = ArgInt32s(info, 5, "lengths");
  Int32View parts = ArgInt32s(info, 6, "parts");
  auto count = static_cast<size_t>(ArgInt(info, 7, "count", 0, kMaxBatchArg));
  RequireCapacity(env, "parts", parts.length, count);
  RequireCapacity(env, "heads", heads.length, static_cast<uint64_t>(headSize) * count);
  size_t slices = 0;
  for (size_t w = 0; w < count; w++) {
    int32_t p = parts.data[w];
    if (p < 1 || p > kMaxWriteParts) {
      ThrowRangeError(env, "write " + std::to_string(w) + " has " + std::to_string(p) + " parts (1.." +
                               std::to_string(kMaxWriteParts) + ")");
    }
    slices += static_cast<size_t>(p);
  }
  CheckSlices(env, arena, offsets, lengths, slices);

  iovec iov[kMaxWriteParts + 1];
  size_t done = 0;
  size_t next = 0;  // first slice of write `done`
  while (done < count) {
    int n = 0;
    if (headSize > 0) iov[n++] = {heads.data + done * headSize, headSize};
    auto p = static_cast<size_t>(parts.data[done]);
    for (size_t k = 0; k < p; k++) {
      iov[n++] = {arena.data + offsets.data[next + k], static_cast<size_t>(lengths.data[next + k])};
    }
    ssize_t r = writev(fd, iov, n);
    if (r >= 0) {
      done++;
      next += p;
      continue;
    }
    if (!RetryBatchCall(env, errno, done > 0, "writev")) break;
  }
  return Napi::Number::New(env, static_cast<double>(done));
}

}  // namespace

void InitFdio(Napi::Env env, Napi::Object exports) {
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("write", Napi::Function::New(env, Write, "write"));
  exports.Set("readBatch", Napi::Function::New(env, ReadBatch, "readBatch"));
  exports.Set("writeBatch", Napi::Function::New(env, WriteBatch, "writeBatch"));
  exports.Set("writevBatch", Napi::Function::New(env, WritevBatch, "writevBatch"));
}

}  // namespace tunvpn
