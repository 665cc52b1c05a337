// ChaCha20-Poly1305 (RFC 8439 AEAD, 12-byte nonce, 16-byte tag, no associated data) over a batch of packets in
// one call: the transport cipher of WireGuard (whitepaper §5.4.6). Which key, which nonce and where each packet lies are
// decided in TypeScript; this file only runs the cipher.
//
// The cipher is OpenSSL's, reached through the EVP symbols the Node.js binary exports to addons (built against
// Node's own headers, so no library is linked in). Its ChaCha20 and Poly1305 use the widest SIMD the CPU has.
//
// aeadSetThreads(n) lets a batch be shared with n - 1 helper threads (the calling thread works too, and the call
// returns when every job is done): jobs are independent, so they are handed out in chunks from one counter. The
// helpers only run the cipher on the batch's memory while the caller waits; they never touch JavaScript.
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "args.h"
#include "bindings.h"
#include "errors.h"

namespace tunvpn {

namespace {

constexpr size_t kKeyBytes = 32;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

constexpr size_t kChunk = 16;       // jobs a thread takes at a time
constexpr int kMaxThreads = 64;

// A cipher context per thread, made on first use and kept for the thread's life.
EVP_CIPHER_CTX* Context() {
  thread_local EVP_CIPHER_CTX* ctx = nullptr;
  if (ctx == nullptr) {
    ctx = EVP_CIPHER_CTX_new();
    if (ctx != nullptr && EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), nullptr, nullptr, nullptr, 1) != 1) {
      EVP_CIPHER_CTX_free(ctx);
      ctx = nullptr;
    }
  }
  return ctx;
}

// The helper threads: each waits for a new round, then takes chunks of jobs until none are left.
class Pool {
 public:
  ~Pool() { Resize(1); }

  int threads() const { return static_cast<int>(helpers_.size()) + 1; }

  // n threads in all (the caller included).
  void Resize(int n) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      round_++;
    }
    wake_.notify_all();
    for (auto& t : helpers_) t.join();
    helpers_.clear();
    stop_ = false;
    for (int i = 1; i < n; i++) helpers_.emplace_back([this] { Work(); });
  }

  // Runs job(i) for every i < count on all threads; returns when all are done.
  void Run(size_t count, const std::function<void(size_t)>& job) {
    if (helpers_.empty() || count <= kChunk) {
      for (size_t i = 0; i < count; i++) job(i);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = &job;
      count_ = count;
      next_.store(0);
      busy_ = helpers_.size();
      round_++;
    }
    wake_.notify_all();
    Take();
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [this] { return busy_ == 0; });
    job_ = nullptr;
  }

 private:
  void Take() {
    for (;;) {
      size_t start = next_.fetch_add(kChunk);
      if (start >= count_) return;
      size_t end = start + kChunk < count_ ? start + kChunk : count_;
      for (size_t i = start; i < end; i++) (*job_)(i);
    }
  }

  void Work() {
    // Named so that ps -L and /proc/PID/task/*/comm show them (15 bytes at most, the kernel's TASK_COMM_LEN - 1).
    pthread_setname_np(pthread_self(), "tunvpn-aead");
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return round_ != seen; });
        seen = round_;
        if (stop_) return;
      }
      Take();
      {
        std::lock_guard<std::mutex> lock(mu_);
        busy_--;
      }
      done_.notify_one();
    }
  }

  std::vector<std::thread> helpers_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(size_t)>* job_ = nullptr;
  size_t count_ = 0;
  std::atomic<size_t> next_{0};
  size_t busy_ = 0;
  uint64_t round_ = 0;
  bool stop_ = false;
};

Pool& ThePool() {
  static Pool pool;
  return pool;
}

// The arguments shared by both calls: (src, srcOffsets, lengths, dst, dstOffsets, keys, nonces, count).
struct Batch {
  ByteView src;
  Int32View srcOffsets;
  Int32View lengths;
  ByteView dst;
  Int32View dstOffsets;
  ByteView keys;
  ByteView nonces;
  size_t count;
};

// Reads the shared arguments; `shift` is the index of `dst` minus 3 (seal has its `padded` array before it).
// Checks that the per-job arrays hold `count` entries; each call then checks every job's range before running any,
// so a bad batch throws and changes nothing.
Batch ParseBatch(const Napi::CallbackInfo& info, size_t shift) {
  Napi::Env env = info.Env();
  Batch b{ArgBytes(info, 0, "src"), ArgInt32s(info, 1, "srcOffsets"), ArgInt32s(info, 2, "lengths"),
          ArgBytes(info, 3 + shift, "dst"), ArgInt32s(info, 4 + shift, "dstOffsets"), ArgBytes(info, 5 + shift, "keys"),
          ArgBytes(info, 6 + shift, "nonces"), 0};
  b.count = static_cast<size_t>(ArgInt(info, 7 + shift, "count", 0, 1 << 20));
  RequireCapacity(env, "srcOffsets", b.srcOffsets.length, b.count);
  RequireCapacity(env, "lengths", b.lengths.length, b.count);
  RequireCapacity(env, "dstOffsets", b.dstOffsets.length, b.count);
  RequireCapacity(env, "keys", b.keys.length, static_cast<uint64_t>(b.count) * kKeyBytes);
  RequireCapacity(env, "nonces", b.nonces.length, static_cast<uint64_t>(b.count) * kNonceBytes);
  return b;
}

// Whether [offset, offset + length) lies inside a buffer of `size` bytes.
bool Inside(int64_t offset, int64_t length, size_t size) {
  return offset >= 0 && length >= 0 && static_cast<uint64_t>(offset + length) <= size;
}

[[noreturn]] void Outside(Napi::Env env, size_t i) {
  ThrowRangeError(env, "packet " + std::to_string(i) + " lies outside its buffer");
}

const uint8_t kZeros[16] = {0};

// aeadSealBatch(src, srcOffsets, lengths, padded, dst, dstOffsets, keys, nonces, count): for each i, the plaintext
// src[srcOffsets[i], +lengths[i]) followed by padded[i] - lengths[i] zero bytes (0..15) is encrypted into
// dst[dstOffsets[i], +padded[i]) with keys[32i..] and nonces[12i..], and the 16-byte tag follows it. src and dst
// may be the same buffer when the regions coincide or do not overlap. Returns count.
Napi::Value SealBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Int32View padded = ArgInt32s(info, 3, "padded");
  Batch b = ParseBatch(info, 1);
  RequireCapacity(env, "padded", padded.length, b.count);
  for (size_t i = 0; i < b.count; i++) {
    int64_t len = b.lengths.data[i];
    int64_t pad = static_cast<int64_t>(padded.data[i]) - len;
    if (pad < 0 || pad >= 16 || !Inside(b.srcOffsets.data[i], len, b.src.length) ||
        !Inside(b.dstOffsets.data[i], padded.data[i] + static_cast<int64_t>(kTagBytes), b.dst.length)) {
      Outside(env, i);
    }
  }
  std::atomic<bool> failed{false};
  ThePool().Run(b.count, [&](size_t i) {
    EVP_CIPHER_CTX* ctx = Context();
    const uint8_t* in = b.src.data + b.srcOffsets.data[i];
    uint8_t* out = b.dst.data + b.dstOffsets.data[i];
    int len = b.lengths.data[i];
    int pad = padded.data[i] - len;
    int n = 0;
    if (ctx == nullptr ||
        EVP_EncryptInit_ex(ctx, nullptr, nullptr, b.keys.data + i * kKeyBytes, b.nonces.data + i * kNonceBytes) != 1 ||
        (len > 0 && EVP_EncryptUpdate(ctx, out, &n, in, len) != 1) ||
        (pad > 0 && EVP_EncryptUpdate(ctx, out + len, &n, kZeros, pad) != 1) ||
        EVP_EncryptFinal_ex(ctx, out + len + pad, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kTagBytes, out + len + pad) != 1) {
      failed.store(true);
    }
  });
  if (failed.load()) ThrowRangeError(env, "ChaCha20-Poly1305 seal failed (is it in this Node.js build's OpenSSL?)");
  return Napi::Number::New(env, static_cast<double>(b.count));
}

// aeadOpenBatch(src, srcOffsets, lengths, dst, dstOffsets, keys, nonces, count, results): for each i, authenticates
// src[srcOffsets[i], +lengths[i]) (ciphertext, then a 16-byte tag; lengths[i] >= 16) and decrypts it into
// dst[dstOffsets[i], +lengths[i] - 16). results[i] = 1 when the tag verified, 0 when not (dst then holds garbage).
// src and dst may be the same buffer when the regions coincide or do not overlap. Returns how many verified.
Napi::Value OpenBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Batch b = ParseBatch(info, 0);
  ByteView results = ArgBytes(info, 8, "results");
  RequireCapacity(env, "results", results.length, b.count);
  for (size_t i = 0; i < b.count; i++) {
    int64_t len = b.lengths.data[i];
    if (len < static_cast<int64_t>(kTagBytes) || !Inside(b.srcOffsets.data[i], len, b.src.length) ||
        !Inside(b.dstOffsets.data[i], len - static_cast<int64_t>(kTagBytes), b.dst.length)) {
      Outside(env, i);
    }
  }
  std::atomic<size_t> verified{0};
  std::atomic<bool> failed{false};
  ThePool().Run(b.count, [&](size_t i) {
    EVP_CIPHER_CTX* ctx = Context();
    if (ctx == nullptr) {
      failed.store(true);
      results.data[i] = 0;
      return;
    }
    const uint8_t* in = b.src.data + b.srcOffsets.data[i];
    uint8_t* out = b.dst.data + b.dstOffsets.data[i];
    int len = b.lengths.data[i] - static_cast<int>(kTagBytes);
    uint8_t tag[kTagBytes];
    memcpy(tag, in + len, kTagBytes);
    uint8_t last[kTagBytes];
    int n = 0;
    bool ok = EVP_DecryptInit_ex(ctx, nullptr, nullptr, b.keys.data + i * kKeyBytes, b.nonces.data + i * kNonceBytes) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kTagBytes, tag) == 1 &&
              (len == 0 || EVP_DecryptUpdate(ctx, out, &n, in, len) == 1) &&
              EVP_DecryptFinal_ex(ctx, last, &n) == 1;
    results.data[i] = ok ? 1 : 0;
    if (ok) verified.fetch_add(1);
  });
  if (failed.load()) ThrowRangeError(env, "ChaCha20-Poly1305 is not available in this Node.js build's OpenSSL");
  return Napi::Number::New(env, static_cast<double>(verified.load()));
}

// aeadSetThreads(n): batches are shared by n threads in all (1..64; 1 = the calling thread alone). Returns n.
Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  int n = static_cast<int>(ArgInt(info, 0, "threads", 1, kMaxThreads));
  if (n != ThePool().threads()) ThePool().Resize(n);
  return Napi::Number::New(info.Env(), n);
}

}  // namespace

void InitAead(Napi::Env env, Napi::Object exports) {
  exports.Set("aeadSetThreads", Napi::Function::New(env, SetThreads, "aeadSetThreads"));
  exports.Set("aeadSealBatch", Napi::Function::New(env, SealBatch, "aeadSealBatch"));
  exports.Set("aeadOpenBatch", Napi::Function::New(env, OpenBatch, "aeadOpenBatch"));
}

}  // namespace tunvpn
