// Errors thrown to JavaScript. Every syscall failure becomes a JS Error with
//   code    = errno name ("EPERM"), from strerrorname_np
//   errno   = the positive errno value
//   syscall = what was attempted, e.g. "ioctl(TUNSETIFF)"
// and the message "CODE: syscall: strerror[ (detail)]".
#pragma once

#include <errno.h>
#include <napi.h>
#include <sys/types.h>

namespace tunvpn {

// Builds the error object (does not throw).
Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const char* detail = nullptr);

// Throws ErrnoError as a C++ exception (caught by node-addon-api at the binding boundary).
[[noreturn]] void ThrowErrno(Napi::Env env, int err, const char* syscall, const char* detail = nullptr);

// For a syscall that failed while setting up the new `fd`: closes it and throws ErrnoError for the errno that
// syscall left (read before close can change it).
[[noreturn]] void CloseAndThrowErrno(Napi::Env env, int fd, const char* syscall);

// EAGAIN/EWOULDBLOCK: a non-blocking call found nothing to do.
bool WouldBlock(int err);

// Runs `call` (a syscall returning < 0 with errno on failure) again for as long as it fails with EINTR.
template <typename Call>
auto RetryOnEintr(Call call) -> decltype(call()) {
  decltype(call()) result;
  do {
    result = call();
  } while (result < 0 && errno == EINTR);
  return result;
}

// The JS result of one non-blocking byte-count call (write, send, recv), called right after it: `n` when
// n >= 0, -1 when errno says it would block; any other errno throws for `syscall`.
Napi::Value ByteCountOrBlocked(Napi::Env env, ssize_t n, const char* syscall);

// The error policy of the batch loops (readBatch, writeBatch, writevBatch, recvmmsg) for a call that failed with
// `err`: true = retry (EINTR); false = stop and return the count so far, because the call would block or because
// `partial` (items were handled already, so the caller's next call meets the error again); any other error
// throws for `syscall`.
bool RetryBatchCall(Napi::Env env, int err, bool partial, const char* syscall);

// Bad arguments from JS: TypeError / RangeError with a Node-style code.
[[noreturn]] void ThrowTypeError(Napi::Env env, const std::string& message);
[[noreturn]] void ThrowRangeError(Napi::Env env, const std::string& message);

}  // namespace tunvpn
