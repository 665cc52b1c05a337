/** Public surface of the pure WireGuard core (see README.md). */
export * from './constants.js';
export { AllowedIps, type AllowedIpEntry, type Family } from './allowedips.js';
export { Protocol, plaintextCapacity, type ErrorKind, type ProtocolOptions, type Result } from './protocol.js';
export { Peer, type Outbound } from './peer.js';
export { Session, transportMessageLength, paddedLength } from './session.js';
export { LocalStatic, Handshake, consumeInitiation, type NoiseError } from './noise.js';
export { classify, type MessageType, type ParseError } from './messages.js';
export { tai64n, compareTai64n } from './tai64n.js';
export { ReplayWindow } from './replay.js';
export {
  RateLimiter, TokenBucket, HANDSHAKES_PER_SOURCE_PER_S, HANDSHAKE_BURST_PER_SOURCE, RATELIMIT_IDLE_MS,
  RATELIMIT_GC_INTERVAL_MS, RATELIMIT_MAX_ENTRIES, type RateLimiterOptions,
} from './ratelimiter.js';
export { CookieChecker, CookieGenerator } from './cookie.js';
