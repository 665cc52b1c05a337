// Errors thrown to JavaScript. Every syscall failure becomes a JS Error with
//   code    = errno name ("EPERM"), from strerrorname_np
//   errno   = the positive errno value
//   syscall = what was attempted, e.g. "ioctl(TUNSETIFF)"
// and the message "CODE: syscall: strerror[ (detail)]".
#pragma once

#include <napi.h>

namespace tunvpn {

// Builds the error object (does not throw).
Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const char* detail = nullptr);

// Throws ErrnoError as a C++ exception (caught by node-addon-api at the binding boundary).
[[noreturn]] void ThrowErrno(Napi::Env env, int err, const char* syscall, const char* detail = nullptr);

// Bad arguments from JS: TypeError / RangeError with a Node-style code.
[[noreturn]] void ThrowTypeError(Napi::Env env, const std::string& message);
[[noreturn]] void ThrowRangeError(Napi::Env env, const std::string& message);

}  // namespace tunvpn
