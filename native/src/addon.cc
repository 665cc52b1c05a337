// Module entry: exports the functions and the `constants` object, typed one concern per module in src/native/*.ts
// (tun.ts, udp.ts, netlink.ts, ...; src/native/load.ts loads this module).
#include <napi.h>

#include "bindings.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Napi::Object constants = Napi::Object::New(env);
  tunvpn::InitTun(env, exports, constants);
  tunvpn::InitFdio(env, exports);
  tunvpn::InitWatch(env, exports, constants);
  tunvpn::InitUdp(env, exports, constants);
  tunvpn::InitUdpOffload(env, exports, constants);
  tunvpn::InitNetlink(env, exports, constants);
  tunvpn::InitNetns(env, exports);
  tunvpn::InitAead(env, exports);
  tunvpn::InitChecksum(env, exports);
  tunvpn::InitBlake2s(env, exports);
  tunvpn::InitX25519(env, exports);
  tunvpn::InitNotify(env, exports);
  constants.Freeze();
  exports.Set("constants", constants);
  return exports;
}

}  // namespace

NODE_API_MODULE(tunvpn, Init)
