#include "args.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <limits>

#include "errors.h"

namespace tunvpn {

namespace {

Napi::Value Arg(const Napi::CallbackInfo& info, size_t index) {
  return index < info.Length() ? info[index] : info.Env().Undefined();
}

[[noreturn]] void Expected(Napi::Env env, const char* name, const char* what) {
  ThrowTypeError(env, std::string("The \"") + name + "\" argument must be " + what);
}

// A typed array of `type` (e.g. napi_uint8_array for T = uint8_t), `what` naming it for the error.
template <typename T>
Napi::TypedArrayOf<T> ArgTypedArray(const Napi::CallbackInfo& info, size_t index, const char* name,
                                    napi_typedarray_type type, const char* what) {
  Napi::Value v = Arg(info, index);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) Expected(info.Env(), name, what);
  return v.As<Napi::TypedArrayOf<T>>();
}

std::string FormatNumber(double d) {
  char text[32];
  snprintf(text, sizeof text, "%.17g", d);
  return text;
}

}  // namespace

int64_t ArgInt(const Napi::CallbackInfo& info, size_t index, const char* name, int64_t min, int64_t max) {
  Napi::Value v = Arg(info, index);
  if (!v.IsNumber()) Expected(info.Env(), name, "a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!isfinite(d) || d != trunc(d) || d < static_cast<double>(min) || d > static_cast<double>(max)) {
    ThrowRangeError(info.Env(), std::string("The \"") + name + "\" argument must be an integer in [" +
                                    std::to_string(min) + ", " + std::to_string(max) + "], got " + FormatNumber(d));
  }
  return static_cast<int64_t>(d);
}

int ArgFd(const Napi::CallbackInfo& info, size_t index) {
  return static_cast<int>(ArgInt(info, index, "fd", 0, std::numeric_limits<int32_t>::max()));
}

bool ArgBool(const Napi::CallbackInfo& info, size_t index, const char* name) {
  Napi::Value v = Arg(info, index);
  if (!v.IsBoolean()) Expected(info.Env(), name, "a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::string ArgString(const Napi::CallbackInfo& info, size_t index, const char* name, size_t max_bytes) {
  Napi::Value v = Arg(info, index);
  if (!v.IsString()) Expected(info.Env(), name, "a string");
  std::string s = v.As<Napi::String>().Utf8Value();
  if (memchr(s.data(), '\0', s.size()) != nullptr) {
    ThrowTypeError(info.Env(), std::string("The \"") + name + "\" argument must not contain NUL bytes");
  }
  if (s.size() > max_bytes) {
    ThrowRangeError(info.Env(), std::string("The \"") + name + "\" argument is longer than " +
                                    std::to_string(max_bytes) + " bytes");
  }
  return s;
}

ByteView ArgBytes(const Napi::CallbackInfo& info, size_t index, const char* name) {
  auto a = ArgTypedArray<uint8_t>(info, index, name, napi_uint8_array, "a Uint8Array or Buffer");
  return ByteView{a.Data(), a.ElementLength()};
}

Int32View ArgInt32s(const Napi::CallbackInfo& info, size_t index, const char* name) {
  auto a = ArgTypedArray<int32_t>(info, index, name, napi_int32_array, "an Int32Array");
  return Int32View{a.Data(), a.ElementLength()};
}

Napi::Function ArgFunction(const Napi::CallbackInfo& info, size_t index, const char* name) {
  Napi::Value v = Arg(info, index);
  if (!v.IsFunction()) Expected(info.Env(), name, "a function");
  return v.As<Napi::Function>();
}

void RequireCapacity(Napi::Env env, const char* what, size_t have, uint64_t need) {
  if (have < need) {
    ThrowRangeError(env, std::string(what) + " too small: need " + std::to_string(need) + ", have " +
                             std::to_string(have));
  }
}

}  // namespace tunvpn
