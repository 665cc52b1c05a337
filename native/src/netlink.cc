// Netlink sockets: open/bind with the options the netlink layer relies on, and plain send/recv.
#include <errno.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>

#include "args.h"
#include "bindings.h"
#include "errors.h"

namespace tunvpn {

namespace {

constexpr int kBufferBytes = 1 << 20;  // 1 MiB socket buffers: dumps of many links/routes arrive in bursts

// netlinkOpen(protocol) -> { fd, portId }
Napi::Value NetlinkOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int protocol = static_cast<int>(ArgInt(info, 0, "protocol", 0, MAX_LINKS - 1));
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) ThrowErrno(env, errno, "socket(AF_NETLINK)");

  const int on = 1;
  const int bytes = kBufferBytes;
  sockaddr_nl addr;
  memset(&addr, 0, sizeof addr);
  addr.nl_family = AF_NETLINK;  // nl_pid = 0: the kernel assigns the port id
  socklen_t len = sizeof addr;
  const char* failed = nullptr;
  if (setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on) < 0) {
    failed = "setsockopt(NETLINK_EXT_ACK)";
  } else if (setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof on) < 0) {
    failed = "setsockopt(NETLINK_CAP_ACK)";
  } else if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) < 0 &&
             setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) < 0) {
    failed = "setsockopt(SO_RCVBUF)";  // SO_RCVBUFFORCE needs CAP_NET_ADMIN; SO_RCVBUF is capped by rmem_max
  } else if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes) < 0) {
    failed = "setsockopt(SO_SNDBUF)";
  } else if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    failed = "bind";
  } else if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) < 0) {
    failed = "getsockname";
  }
  if (failed != nullptr) CloseAndThrowErrno(env, fd, failed);
  Napi::Object result = Napi::Object::New(env);
  result.Set("fd", Napi::Number::New(env, fd));
  result.Set("portId", Napi::Number::New(env, addr.nl_pid));
  return result;
}

// send(fd, buf) -> bytes sent, or -1 on EAGAIN. Unconnected: goes to the kernel (port 0).
Napi::Value Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  ByteView buf = ArgBytes(info, 1, "buf");
  ssize_t n = RetryOnEintr([&] { return send(fd, buf.data, buf.length, MSG_DONTWAIT); });
  return ByteCountOrBlocked(env, n, "send");
}

// recv(fd, buf) -> bytes received, or -1 on EAGAIN. A datagram larger than buf is consumed and throws EMSGSIZE
// (its tail is lost, so the caller must treat the request as failed).
Napi::Value Recv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  ByteView buf = ArgBytes(info, 1, "buf");
  iovec iov{buf.data, buf.length};
  msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  ssize_t n = RetryOnEintr([&] { return recvmsg(fd, &msg, MSG_DONTWAIT); });
  if (n >= 0 && (msg.msg_flags & MSG_TRUNC) != 0) {
    ThrowErrno(env, EMSGSIZE, "recv", "netlink message larger than the receive buffer");
  }
  return ByteCountOrBlocked(env, n, "recv");
}

}  // namespace

void InitNetlink(Napi::Env env, Napi::Object exports, Napi::Object constants) {
  exports.Set("netlinkOpen", Napi::Function::New(env, NetlinkOpen, "netlinkOpen"));
  exports.Set("send", Napi::Function::New(env, Send, "send"));
  exports.Set("recv", Napi::Function::New(env, Recv, "recv"));
  constants.Set("NETLINK_ROUTE", NETLINK_ROUTE);
}

}  // namespace tunvpn
