/**
 * WireGuard constants. Specification constants (whitepaper §5 and §6, identical in every implementation) come
 * first; implementation constants (our own choices) after. Times are milliseconds unless named otherwise.
 */

/* ---------- Specification constants ---------- */

export const CONSTRUCTION = 'Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s';
export const IDENTIFIER = 'WireGuard v1 zx2c4 Jason@zx2c4.com';
export const LABEL_MAC1 = 'mac1----';
export const LABEL_COOKIE = 'cookie--';

export const MESSAGE_INITIATION = 1;
export const MESSAGE_RESPONSE = 2;
export const MESSAGE_COOKIE_REPLY = 3;
export const MESSAGE_TRANSPORT = 4;

export { KEY_BYTES } from '../crypto/keys.js';
export const TAG_BYTES = 16;
export const MAC_BYTES = 16;
export const TIMESTAMP_BYTES = 12;
export const COOKIE_BYTES = 16;
export const COOKIE_NONCE_BYTES = 24;

export const INITIATION_BYTES = 148;
export const RESPONSE_BYTES = 92;
export const COOKIE_REPLY_BYTES = 64;
/** type(1) reserved(3) receiver(4) counter(8). */
export const TRANSPORT_HEADER_BYTES = 16;
/** A keepalive: header plus the tag of an empty plaintext. */
export const TRANSPORT_MIN_BYTES = TRANSPORT_HEADER_BYTES + TAG_BYTES;
/** Plaintext is zero-padded to a multiple of this many bytes (bounded by the MTU). */
export const PADDING_MULTIPLE_BYTES = 16;

export const REKEY_AFTER_MESSAGES = 2n ** 60n;
/** 2^64 - 2^13 - 1: counters at or above this are never sent nor accepted. */
export const REJECT_AFTER_MESSAGES = 2n ** 64n - 2n ** 13n - 1n;
export const REKEY_AFTER_TIME_MS = 120_000;
export const REJECT_AFTER_TIME_MS = 180_000;
export const REKEY_ATTEMPT_TIME_MS = 90_000;
export const REKEY_TIMEOUT_MS = 5_000;
/** Retransmit jitter is uniform in [0, REKEY_TIMEOUT_JITTER_MAX_MS). */
export const REKEY_TIMEOUT_JITTER_MAX_MS = 334;
/** Initiation attempts before giving up: REKEY_ATTEMPT_TIME / REKEY_TIMEOUT. */
export const MAX_TIMER_HANDSHAKES = REKEY_ATTEMPT_TIME_MS / REKEY_TIMEOUT_MS;
export const KEEPALIVE_TIMEOUT_MS = 10_000;
export const COOKIE_REFRESH_TIME_MS = 120_000;
/** Keys are wiped after this long without a new session. */
export const ZERO_KEY_MATERIAL_AFTER_MS = 3 * REJECT_AFTER_TIME_MS;
/** The initiator of the current session starts a new handshake when receiving on a session older than this. */
export const REKEY_ON_RECEIVE_AFTER_MS = REJECT_AFTER_TIME_MS - KEEPALIVE_TIMEOUT_MS - REKEY_TIMEOUT_MS;
/** At most one initiation per peer is consumed per this interval (flood protection, 50 per second). */
export const HANDSHAKE_INITIATION_RATE_MS = 1000 / 50;

/** Largest PersistentKeepalive interval in seconds (a 16-bit value in wg(8) and the UAPI). */
export const MAX_PERSISTENT_KEEPALIVE_S = 65_535;

/* ---------- Replay window (RFC 6479, same size as wireguard-go on 64-bit hosts) ---------- */

export const COUNTER_BITS_TOTAL = 8192;
export const COUNTER_REDUNDANT_BITS = 64;
/** Counters more than this far behind the highest seen are rejected: 8128. */
export const COUNTER_WINDOW_SIZE = COUNTER_BITS_TOTAL - COUNTER_REDUNDANT_BITS;

/* ---------- Implementation constants ---------- */

/** Packets queued per peer while waiting for a handshake (wireguard-go keeps 1024); the oldest is dropped beyond. */
export const MAX_STAGED_PACKETS = 1024;
/**
 * Largest inner IP packet the data path carries (bytes): a jumbo-frame MTU. The configuration refuses a larger
 * MTU; a larger packet that still reaches the device (an MTU raised by hand) is dropped and counted as tooBig.
 */
export const MAX_TUNNEL_MTU_BYTES = 9000;

/* ---------- Handshakes under load (protocol/load.ts) ---------- */

/** Handshake messages per second beyond which the protocol is under load. */
export const UNDER_LOAD_HANDSHAKES_PER_S = 256;
/** How long the protocol stays under load after the last busy second (wireguard-go: UnderLoadAfterTime). */
export const UNDER_LOAD_HOLD_MS = 1000;

/* ---------- Per-source handshake rate limit under load (protocol/ratelimiter.ts) ---------- */

/** Handshake messages per second each source may sustain under load (wireguard-go, kernel: 20). */
export const HANDSHAKES_PER_SOURCE_PER_S = 20;
/** Messages a source may send back to back before the rate applies (wireguard-go, kernel: 5). */
export const HANDSHAKE_BURST_PER_SOURCE = 5;
/** An entry idle for longer than this is forgotten (wireguard-go, kernel: 1 s). */
export const RATELIMIT_IDLE_MS = 1000;
/** Idle entries are swept at most this often (wireguard-go, kernel: every second). */
export const RATELIMIT_GC_INTERVAL_MS = 1000;
/**
 * Most sources tracked at once. Under load only messages with a valid MAC2 reach the limiter, i.e. from sources
 * that proved within the last two minutes that they receive at their address, so a spoofed flood never gets
 * here; 16 Ki concurrently active proven sources is far beyond a real server and costs a few MiB at most.
 * (The kernel sizes its table from RAM: 8 × buckets, up to 64 Ki entries.)
 */
export const RATELIMIT_MAX_ENTRIES = 16_384;

/* ---------- Cookie replies under load (protocol/device-core.ts) ---------- */

/**
 * Cookie replies per second one source address may draw under load (burst COOKIE_REPLY_BURST_PER_SOURCE): a
 * client needs one per REKEY_TIMEOUT, a flood gets no more than this, so replies never amplify it.
 */
export const COOKIE_REPLIES_PER_SOURCE_PER_S = 10;
export const COOKIE_REPLY_BURST_PER_SOURCE = 5;

/** Unit conversions for the `*_MS` constants and the clocks that count in ms (whitepaper §6 gives seconds). */
export const MS_PER_S = 1000;
/** Nanoseconds in a millisecond (TAI64N timestamps and the UAPI's last_handshake_time_nsec count in ns). */
export const NS_PER_MS = 1_000_000;
