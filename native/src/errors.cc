#include "errors.h"

#include <string.h>
#include <unistd.h>

#include <string>

namespace tunvpn {

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const char* detail) {
  const char* name = strerrorname_np(err);
  std::string code = name != nullptr ? name : "E" + std::to_string(err);
  std::string message = code + ": " + syscall + ": " + strerror(err);
  if (detail != nullptr) message += std::string(" (") + detail + ")";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

void ThrowErrno(Napi::Env env, int err, const char* syscall, const char* detail) {
  throw ErrnoError(env, err, syscall, detail);
}

void CloseAndThrowErrno(Napi::Env env, int fd, const char* syscall) {
  int err = errno;
  close(fd);
  ThrowErrno(env, err, syscall);
}

bool WouldBlock(int err) {
  return err == EAGAIN || err == EWOULDBLOCK;
}

Napi::Value ByteCountOrBlocked(Napi::Env env, ssize_t n, const char* syscall) {
  if (n >= 0) return Napi::Number::New(env, static_cast<double>(n));
  if (WouldBlock(errno)) return Napi::Number::New(env, -1);
  ThrowErrno(env, errno, syscall);
}

bool RetryBatchCall(Napi::Env env, int err, bool partial, const char* syscall) {
  if (err == EINTR) return true;
  if (WouldBlock(err) || partial) return false;
  ThrowErrno(env, err, syscall);
}

void ThrowTypeError(Napi::Env env, const std::string& message) {
  Napi::TypeError error = Napi::TypeError::New(env, message);
  error.Set("code", Napi::String::New(env, "ERR_INVALID_ARG_TYPE"));
  throw error;
}

void ThrowRangeError(Napi::Env env, const std::string& message) {
  Napi::RangeError error = Napi::RangeError::New(env, message);
  error.Set("code", Napi::String::New(env, "ERR_OUT_OF_RANGE"));
  throw error;
}

}  // namespace tunvpn
