// Each concern registers its functions (and constants) on the module exports.
#pragma once

#include <napi.h>

namespace tunvpn {

void InitTun(Napi::Env env, Napi::Object exports, Napi::Object constants);
void InitFdio(Napi::Env env, Napi::Object exports);
void InitWatch(Napi::Env env, Napi::Object exports, Napi::Object constants);
void InitUdp(Napi::Env env, Napi::Object exports, Napi::Object constants);
void InitUdpOffload(Napi::Env env, Napi::Object exports, Napi::Object constants);
void InitNetlink(Napi::Env env, Napi::Object exports, Napi::Object constants);
void InitNetns(Napi::Env env, Napi::Object exports);
void InitAead(Napi::Env env, Napi::Object exports);
void InitChecksum(Napi::Env env, Napi::Object exports);
void InitBlake2s(Napi::Env env, Napi::Object exports);
void InitX25519(Napi::Env env, Napi::Object exports);
void InitNotify(Napi::Env env, Napi::Object exports);

}  // namespace tunvpn
