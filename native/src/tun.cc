// TUN/TAP: open /dev/net/tun and configure it with the TUNSET* ioctls.
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>

#include "args.h"
#include "bindings.h"
#include "errors.h"

// Added in Linux 6.2; older userspace headers lack them.
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

namespace tunvpn {

namespace {

constexpr const char* kTunDevice = "/dev/net/tun";
constexpr size_t kMaxIfNameBytes = IFNAMSIZ - 1;  // 15: the kernel's limit without the NUL

void Ioctl(Napi::Env env, int fd, unsigned long request, unsigned long arg, const char* syscall) {
  if (ioctl(fd, request, arg) < 0) ThrowErrno(env, errno, syscall);
}

// tunOpen(name, flags) -> { fd, name }
Napi::Value TunOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Value nameArg = info.Length() > 0 ? info[0] : env.Undefined();
  if (!nameArg.IsString()) ThrowTypeError(env, "The \"name\" argument must be a string");
  std::string name = nameArg.As<Napi::String>().Utf8Value();
  if (name.size() > kMaxIfNameBytes) {
    ThrowErrno(env, EINVAL, "ioctl(TUNSETIFF)", "interface name longer than 15 bytes");
  }
  if (memchr(name.data(), '\0', name.size()) != nullptr) {
    ThrowErrno(env, EINVAL, "ioctl(TUNSETIFF)", "interface name contains a NUL byte");
  }
  int flags = static_cast<int>(ArgInt(info, 1, "flags", 0, 0xffff));

  int fd = open(kTunDevice, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) ThrowErrno(env, errno, "open(/dev/net/tun)");

  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name.data(), name.size());
  ifr.ifr_flags = static_cast<short>(flags);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) CloseAndThrowErrno(env, fd, "ioctl(TUNSETIFF)");
  ifr.ifr_name[IFNAMSIZ - 1] = '\0';

  Napi::Object result = Napi::Object::New(env);
  result.Set("fd", Napi::Number::New(env, fd));
  result.Set("name", Napi::String::New(env, ifr.ifr_name));
  return result;
}

Napi::Value TunSetOffload(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  auto flags = static_cast<unsigned long>(ArgInt(info, 1, "flags", 0, 0xffffffffLL));
  Ioctl(info.Env(), fd, TUNSETOFFLOAD, flags, "ioctl(TUNSETOFFLOAD)");
  return info.Env().Undefined();
}

Napi::Value TunSetVnetHdrSize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  int size = static_cast<int>(ArgInt(info, 1, "size", 0, 0x7fffffff));
  if (ioctl(fd, TUNSETVNETHDRSZ, &size) < 0) ThrowErrno(env, errno, "ioctl(TUNSETVNETHDRSZ)");
  return env.Undefined();
}

Napi::Value TunSetPersist(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  bool persist = ArgBool(info, 1, "persist");
  Ioctl(info.Env(), fd, TUNSETPERSIST, persist ? 1 : 0, "ioctl(TUNSETPERSIST)");
  return info.Env().Undefined();
}

}  // namespace

void InitTun(Napi::Env env, Napi::Object exports, Napi::Object constants) {
  exports.Set("tunOpen", Napi::Function::New(env, TunOpen, "tunOpen"));
  exports.Set("tunSetOffload", Napi::Function::New(env, TunSetOffload, "tunSetOffload"));
  exports.Set("tunSetVnetHdrSize", Napi::Function::New(env, TunSetVnetHdrSize, "tunSetVnetHdrSize"));
  exports.Set("tunSetPersist", Napi::Function::New(env, TunSetPersist, "tunSetPersist"));

  constants.Set("IFF_TUN", IFF_TUN);
  constants.Set("IFF_TAP", IFF_TAP);
  constants.Set("IFF_NO_PI", IFF_NO_PI);
  constants.Set("IFF_VNET_HDR", IFF_VNET_HDR);
  constants.Set("IFF_MULTI_QUEUE", IFF_MULTI_QUEUE);
  constants.Set("TUN_F_CSUM", TUN_F_CSUM);
  constants.Set("TUN_F_TSO4", TUN_F_TSO4);
  constants.Set("TUN_F_TSO6", TUN_F_TSO6);
  constants.Set("TUN_F_TSO_ECN", TUN_F_TSO_ECN);
  constants.Set("TUN_F_USO4", TUN_F_USO4);
  constants.Set("TUN_F_USO6", TUN_F_USO6);
}

}  // namespace tunvpn
