// One datagram to an AF_UNIX SOCK_DGRAM socket named by a path: the transport of systemd's notification
// protocol (sd_notify(3), $NOTIFY_SOCKET). A path starting with '@' names an abstract socket. The socket is opened,
// used once and closed: nothing is kept. What to send (READY=1, STOPPING=1, ...) is decided in TypeScript.
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>

#include "args.h"
#include "bindings.h"
#include "errors.h"

namespace tunvpn {
namespace {

// unixDatagramSend(path, data) -> bytes sent.
Napi::Value UnixDatagramSend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  sockaddr_un addr{};
  std::string path = ArgString(info, 0, "path", sizeof(addr.sun_path) - 1);
  ByteView data = ArgBytes(info, 1, "data");
  if (path.empty()) ThrowRangeError(env, "path is empty");
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path.data(), path.size());
  if (path[0] == '@') addr.sun_path[0] = '\0';
  socklen_t addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) ThrowErrno(env, errno, "socket(AF_UNIX, SOCK_DGRAM)");
  ssize_t n = RetryOnEintr([&] {
    return sendto(fd, data.data, data.length, MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), addr_len);
  });
  if (n < 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, err, "sendto(AF_UNIX)", path.c_str());
  }
  close(fd);
  return Napi::Number::New(env, static_cast<double>(n));
}

}  // namespace

void InitNotify(Napi::Env env, Napi::Object exports) {
  exports.Set("unixDatagramSend", Napi::Function::New(env, UnixDatagramSend, "unixDatagramSend"));
}

}  // namespace tunvpn
