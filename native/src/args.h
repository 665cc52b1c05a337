// Argument checking for the bindings. Every helper throws a TypeError/RangeError (code ERR_INVALID_ARG_TYPE /
// ERR_OUT_OF_RANGE) naming the argument, so bad input from JS never reaches a syscall or crashes.
#pragma once

#include <napi.h>
#include <stddef.h>
#include <stdint.h>

#include <string>

namespace tunvpn {

// A borrowed view of a JS Uint8Array / Int32Array: valid only during the current call.
struct ByteView {
  uint8_t* data;
  size_t length;
};
struct Int32View {
  int32_t* data;
  size_t length;
};

// An integer (no fraction, no NaN) in [min, max].
int64_t ArgInt(const Napi::CallbackInfo& info, size_t index, const char* name, int64_t min, int64_t max);
// A file descriptor: integer in [0, INT32_MAX].
int ArgFd(const Napi::CallbackInfo& info, size_t index);
bool ArgBool(const Napi::CallbackInfo& info, size_t index, const char* name);
// A string without NUL bytes, at most max_bytes long in UTF-8.
std::string ArgString(const Napi::CallbackInfo& info, size_t index, const char* name, size_t max_bytes);
ByteView ArgBytes(const Napi::CallbackInfo& info, size_t index, const char* name);
Int32View ArgInt32s(const Napi::CallbackInfo& info, size_t index, const char* name);
Napi::Function ArgFunction(const Napi::CallbackInfo& info, size_t index, const char* name);

// Throws RangeError "<what> too small: need N, have M" when have < need.
void RequireCapacity(Napi::Env env, const char* what, size_t have, uint64_t need);

}  // namespace tunvpn
