/**
 * The transport AEAD of WireGuard (whitepaper §5.4.6): ChaCha20-Poly1305 (RFC 8439) with a 12-byte nonce of four
 * zero bytes followed by the 64-bit message counter, little-endian, and no associated data.
 *
 * Packets are sealed and opened in batches: the device collects the jobs of one wake-up and runs them in one call
 * of an AeadBackend. The native backend (native-aead.ts) is one addon call per batch through the OpenSSL inside
 * Node; the reference backend (reference-aead.ts, @noble/ciphers) is pure JavaScript, for tests and for checking
 * the native one.
 *
 * Counters are passed as two 32-bit halves (hi, lo) so values above 2^53 stay exact without BigInt.
 * Not re-entrant: one event loop uses a TransportAead at a time.
 */
import { KEY_BYTES } from './keys.js';

export const TRANSPORT_KEY_LEN = KEY_BYTES;
export const TRANSPORT_TAG_LEN = 16;
/** Bytes of the RFC 8439 nonce. */
export const TRANSPORT_NONCE_LEN = 12;

/**
 * A batched ChaCha20-Poly1305. Job i reads src[srcOffsets[i], ...) and writes dst[dstOffsets[i], ...) with the key
 * keys[32i, 32i+32) and the nonce nonces[12i, 12i+12). src and dst may be one buffer when each job's regions
 * coincide or do not overlap. Throws RangeError (changing nothing) when a job lies outside its buffer.
 */
export interface AeadBackend {
  /**
   * Seals lengths[i] plaintext bytes followed by padded[i] - lengths[i] zero bytes (0..15) into padded[i]
   * ciphertext bytes, then the 16-byte tag.
   */
  sealBatch(
    src: Uint8Array, srcOffsets: Int32Array, lengths: Int32Array, padded: Int32Array,
    dst: Uint8Array, dstOffsets: Int32Array, keys: Uint8Array, nonces: Uint8Array, count: number,
  ): void;
  /**
   * Opens lengths[i] bytes (ciphertext, then the tag; at least 16) into lengths[i] - 16 plaintext bytes;
   * results[i] = 1 when the tag verified, else 0 (dst then holds garbage). Returns how many verified.
   */
  openBatch(
    src: Uint8Array, srcOffsets: Int32Array, lengths: Int32Array,
    dst: Uint8Array, dstOffsets: Int32Array, keys: Uint8Array, nonces: Uint8Array, count: number, results: Uint8Array,
  ): number;
}

/** Jobs of one direction: preallocated, so queueing a packet allocates nothing. */
class Jobs {
  readonly srcOffsets: Int32Array;
  readonly dstOffsets: Int32Array;
  readonly lengths: Int32Array;
  readonly padded: Int32Array;
  readonly keys: Uint8Array;
  readonly nonces: Uint8Array;
  readonly results: Uint8Array;
  private readonly nonceView: DataView;
  count = 0;
  /** The buffers of the jobs now queued (every job of a batch shares them). */
  src: Uint8Array | null = null;
  dst: Uint8Array | null = null;

  constructor(readonly capacity: number) {
    this.srcOffsets = new Int32Array(capacity);
    this.dstOffsets = new Int32Array(capacity);
    this.lengths = new Int32Array(capacity);
    this.padded = new Int32Array(capacity);
    this.keys = new Uint8Array(capacity * TRANSPORT_KEY_LEN);
    this.nonces = new Uint8Array(capacity * TRANSPORT_NONCE_LEN);
    this.results = new Uint8Array(capacity);
    this.nonceView = new DataView(this.nonces.buffer);
  }

  /** Records job `count` (its nonce from the counter halves) and returns its index. */
  add(key: Uint8Array, hi: number, lo: number, srcOff: number, len: number, padded: number, dstOff: number): number {
    const i = this.count++;
    this.srcOffsets[i] = srcOff;
    this.dstOffsets[i] = dstOff;
    this.lengths[i] = len;
    this.padded[i] = padded;
    this.keys.set(key, i * TRANSPORT_KEY_LEN);
    const n = i * TRANSPORT_NONCE_LEN;
    this.nonceView.setUint32(n, 0, true);
    this.nonceView.setUint32(n + 4, lo >>> 0, true);
    this.nonceView.setUint32(n + 8, hi >>> 0, true);
    return i;
  }

  /** Forgets the jobs and wipes the key copies. */
  clear(): void {
    this.keys.fill(0, 0, this.count * TRANSPORT_KEY_LEN);
    this.count = 0;
  }
}

/** Jobs per batch call; a batch that fills up is run and a new one begins. */
export const DEFAULT_AEAD_BATCH = 512;

/**
 * The device's transport cipher: seals and opens immediately, or, between begin and flush, collects the jobs that
 * share the batch's buffers and runs them in one backend call.
 *
 *   seals: beginSeals(src, dst) → (seal(...)* → flushSeals())* → endSeals()   (a seal of other buffers runs at once)
 *   opens: beginOpens(src, dst) → queueOpen(...)* → runOpens() → opened(i)
 */
export class TransportAead {
  private readonly sealJobs: Jobs;
  private readonly openJobs: Jobs;
  private readonly one: Jobs = new Jobs(1);

  constructor(private readonly backend: AeadBackend, capacity = DEFAULT_AEAD_BATCH) {
    this.sealJobs = new Jobs(capacity);
    this.openJobs = new Jobs(capacity);
  }

  /* ---------------- seal ---------------- */

  /** From now until endSeals(), seals from `src` into `dst` are collected (and run at each flushSeals()). */
  beginSeals(src: Uint8Array, dst: Uint8Array): void {
    this.endSeals();
    this.sealJobs.src = src;
    this.sealJobs.dst = dst;
  }

  /**
   * Seals src[srcOff, srcOff+len) followed by padded - len zero bytes into dst at dstOff (padded bytes, then the
   * 16-byte tag) with `key` and counter (hi, lo): at the next flushSeals() when the buffers are the batch's, now
   * otherwise. The caller must not change the plaintext or read the ciphertext before then.
   */
  seal(key: Uint8Array, hi: number, lo: number, src: Uint8Array, srcOff: number, len: number, padded: number,
    dst: Uint8Array, dstOff: number): void {
    const jobs = this.sealJobs;
    if (src === jobs.src && dst === jobs.dst) {
      jobs.add(key, hi, lo, srcOff, len, padded, dstOff);
      if (jobs.count === jobs.capacity) this.runSeals(jobs);
      return;
    }
    const one = this.one;
    one.src = src;
    one.dst = dst;
    one.add(key, hi, lo, srcOff, len, padded, dstOff);
    this.runSeals(one);
  }

  /** Runs the collected seals; the batch goes on. */
  flushSeals(): void {
    this.runSeals(this.sealJobs);
  }

  /** Runs the collected seals and ends the batch. */
  endSeals(): void {
    this.runSeals(this.sealJobs);
    this.sealJobs.src = this.sealJobs.dst = null;
  }

  private runSeals(jobs: Jobs): void {
    if (jobs.count === 0) return;
    try {
      this.backend.sealBatch(jobs.src!, jobs.srcOffsets, jobs.lengths, jobs.padded, jobs.dst!, jobs.dstOffsets,
        jobs.keys, jobs.nonces, jobs.count);
    } finally {
      jobs.clear();
    }
  }

  /* ---------------- open ---------------- */

  /** From now until runOpens(), opens from `src` into `dst` can be queued. */
  beginOpens(src: Uint8Array, dst: Uint8Array): void {
    this.openJobs.clear();
    this.openJobs.src = src;
    this.openJobs.dst = dst;
  }

  /** Whether another open can be queued in this batch (else run the batch first). */
  get openQueueFull(): boolean {
    return this.openJobs.count === this.openJobs.capacity;
  }

  /**
   * Queues the opening of src[srcOff, srcOff+len) (ciphertext and tag) into dst at dstOff, for the batch's buffers;
   * returns the job's index for opened(). Check openQueueFull first.
   */
  queueOpen(key: Uint8Array, hi: number, lo: number, srcOff: number, len: number, dstOff: number): number {
    return this.openJobs.add(key, hi, lo, srcOff, len, len, dstOff);
  }

  /** Runs the queued opens; opened(i) then tells which verified. Returns how many ran. */
  runOpens(): number {
    const jobs = this.openJobs;
    const n = jobs.count;
    if (n === 0) return 0;
    try {
      this.backend.openBatch(jobs.src!, jobs.srcOffsets, jobs.lengths, jobs.dst!, jobs.dstOffsets, jobs.keys,
        jobs.nonces, n, jobs.results);
    } finally {
      jobs.keys.fill(0, 0, n * TRANSPORT_KEY_LEN);
    }
    jobs.count = 0;
    return n;
  }

  /** Whether open job i of the last runOpens() verified. */
  opened(i: number): boolean {
    return this.openJobs.results[i] === 1;
  }

  /**
   * Opens src[srcOff, srcOff+len) into dst at dstOff now (outside any batch). Returns the plaintext length
   * (len - 16), or -1 when the tag does not verify or len < 16.
   */
  openNow(key: Uint8Array, hi: number, lo: number, src: Uint8Array, srcOff: number, len: number, dst: Uint8Array,
    dstOff: number): number {
    if (len < TRANSPORT_TAG_LEN) return -1;
    const one = this.one;
    one.add(key, hi, lo, srcOff, len, len, dstOff);
    try {
      const ok = this.backend.openBatch(src, one.srcOffsets, one.lengths, dst, one.dstOffsets, one.keys, one.nonces, 1,
        one.results);
      return ok === 1 ? len - TRANSPORT_TAG_LEN : -1;
    } finally {
      one.clear();
    }
  }
}
