// Shared validation for arena-based batch calls.
#pragma once

#include <napi.h>
#include <stddef.h>

#include "args.h"

namespace tunvpn {

// Upper bound for batch sizes (also the largest `max`/`count` accepted).
constexpr int64_t kMaxBatchArg = 0x7fffffff;

// Checks offsets[i] >= 0, lengths[i] >= 0 and offsets[i] + lengths[i] <= arena.length for all i < count.
void CheckSlices(Napi::Env env, const ByteView& arena, const Int32View& offsets, const Int32View& lengths,
                 size_t count);

// Checks room for `max` slots of `slot` bytes in the arena and for `max` entries in lengths (readBatch, recvmmsg).
void CheckSlots(Napi::Env env, const ByteView& arena, int64_t slot, const Int32View& lengths, int64_t max);

}  // namespace tunvpn
