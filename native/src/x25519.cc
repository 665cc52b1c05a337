// X25519 (RFC 7748) for the handshake's Diffie-Hellman steps and public keys: OpenSSL's, from the OpenSSL inside
// Node (see aead.cc). Which keys are combined, and when, is decided in TypeScript.
#include <openssl/evp.h>
#include <string.h>

#include "args.h"
#include "bindings.h"
#include "errors.h"

namespace tunvpn {

namespace {

constexpr size_t kKeyBytes = 32;

// x25519(privateKey, publicKey, out): out = X25519(privateKey, publicKey) (the scalar is clamped, RFC 7748 §5).
// Returns true, or false when the result is all zeros (a low-order public key: WireGuard must refuse it).
// Throws RangeError unless every argument is 32 bytes.
Napi::Value X25519(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ByteView priv = ArgBytes(info, 0, "privateKey");
  ByteView pub = ArgBytes(info, 1, "publicKey");
  ByteView out = ArgBytes(info, 2, "out");
  if (priv.length != kKeyBytes || pub.length != kKeyBytes || out.length != kKeyBytes) {
    ThrowRangeError(env, "X25519 keys and results are 32 bytes");
  }
  EVP_PKEY* mine = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, priv.data, kKeyBytes);
  EVP_PKEY* theirs = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, pub.data, kKeyBytes);
  EVP_PKEY_CTX* ctx = mine == nullptr ? nullptr : EVP_PKEY_CTX_new(mine, nullptr);
  size_t len = kKeyBytes;
  // OpenSSL refuses to derive an all-zero secret; that is the low-order case.
  bool ok = ctx != nullptr && theirs != nullptr && EVP_PKEY_derive_init(ctx) == 1 &&
            EVP_PKEY_derive_set_peer(ctx, theirs) == 1 && EVP_PKEY_derive(ctx, out.data, &len) == 1 &&
            len == kKeyBytes;
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(theirs);
  EVP_PKEY_free(mine);
  if (!ok) memset(out.data, 0, kKeyBytes);
  return Napi::Boolean::New(env, ok);
}

// x25519PublicKey(privateKey, out): out = X25519(privateKey, 9), the public key. Throws RangeError unless both are
// 32 bytes.
Napi::Value X25519PublicKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ByteView priv = ArgBytes(info, 0, "privateKey");
  ByteView out = ArgBytes(info, 1, "out");
  if (priv.length != kKeyBytes || out.length != kKeyBytes) ThrowRangeError(env, "X25519 keys are 32 bytes");
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, priv.data, kKeyBytes);
  size_t len = kKeyBytes;
  bool ok = key != nullptr && EVP_PKEY_get_raw_public_key(key, out.data, &len) == 1 && len == kKeyBytes;
  EVP_PKEY_free(key);
  if (!ok) ThrowRangeError(env, "X25519 is not available in this Node.js build's OpenSSL");
  return info.Env().Undefined();
}

}  // namespace

void InitX25519(Napi::Env env, Napi::Object exports) {
  exports.Set("x25519", Napi::Function::New(env, X25519, "x25519"));
  exports.Set("x25519PublicKey", Napi::Function::New(env, X25519PublicKey, "x25519PublicKey"));
}

}  // namespace tunvpn
