// Keyed BLAKE2s (RFC 7693) as WireGuard's MAC (whitepaper §5.4: MAC(key, input) = Keyed-BLAKE2s(key, input, 16)):
// mac1 of every handshake message is checked before anything else, so under a flood this is the hottest
// function of the handshake path. OpenSSL's BLAKE2SMAC, from the OpenSSL inside Node (see aead.cc).
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "args.h"
#include "bindings.h"
#include "errors.h"

namespace tunvpn {

namespace {

constexpr size_t kMaxKeyBytes = 32;  // BLAKE2s keys are 1..32 bytes
constexpr size_t kMaxOutBytes = 32;  // and its digests 1..32

EVP_MAC_CTX* MacContext() {
  static EVP_MAC_CTX* ctx = nullptr;
  if (ctx == nullptr) {
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "BLAKE2SMAC", nullptr);
    if (mac != nullptr) ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);  // the context keeps its own reference
  }
  return ctx;
}

// blake2sMac(key, data, dataOffset, dataLength, out): out (16 or 32 bytes: the digest size) becomes
// Keyed-BLAKE2s(key, data[dataOffset, +dataLength)). Returns out.length. Throws RangeError for a key of 0 or more
// than 32 bytes, an out of another size, or a range outside data.
Napi::Value Blake2sMac(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ByteView key = ArgBytes(info, 0, "key");
  ByteView data = ArgBytes(info, 1, "data");
  int64_t off = ArgInt(info, 2, "dataOffset", 0, INT32_MAX);
  int64_t len = ArgInt(info, 3, "dataLength", 0, INT32_MAX);
  ByteView out = ArgBytes(info, 4, "out");
  if (key.length == 0 || key.length > kMaxKeyBytes) ThrowRangeError(env, "a BLAKE2s key is 1..32 bytes");
  if (out.length != 16 && out.length != kMaxOutBytes) ThrowRangeError(env, "a BLAKE2s MAC is 16 or 32 bytes here");
  if (static_cast<uint64_t>(off + len) > data.length) ThrowRangeError(env, "the range lies outside data");
  EVP_MAC_CTX* ctx = MacContext();
  if (ctx == nullptr) ThrowRangeError(env, "BLAKE2SMAC is not available in this Node.js build's OpenSSL");
  size_t size = out.length;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size), OSSL_PARAM_construct_end()};
  size_t written = 0;
  if (EVP_MAC_init(ctx, key.data, key.length, params) != 1 || EVP_MAC_update(ctx, data.data + off, len) != 1 ||
      EVP_MAC_final(ctx, out.data, &written, out.length) != 1 || written != out.length) {
    ThrowRangeError(env, "BLAKE2SMAC failed");
  }
  return Napi::Number::New(env, static_cast<double>(written));
}

}  // namespace

void InitBlake2s(Napi::Env env, Napi::Object exports) {
  exports.Set("blake2sMac", Napi::Function::New(env, Blake2sMac, "blake2sMac"));
}

}  // namespace tunvpn
