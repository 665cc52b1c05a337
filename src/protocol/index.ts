/** Public surface of the pure WireGuard core (see README.md). */
export * from './constants.js';
export { AllowedIps, type AllowedIpEntry, type Family } from './allowedips.js';
export { DeviceCore, plaintextCapacity, type ErrorKind, type DeviceCoreOptions, type Result } from './device-core.js';
export { Peer, type Outbound, type PeerEvent } from './peer.js';
export { NEVER } from './timers.js';
export { MAX_QUEUED_EVENTS, type HandshakeMessage, type InitiationReason, type ProtocolEvent, type ProtocolEventKind } from './events.js';
export { Session, transportMessageLength, paddedLength } from './session.js';
export { LocalStatic, Handshake, consumeInitiation, type NoiseError } from './noise.js';
export { classify, type MessageType, type ParseError } from './messages.js';
export { tai64n, compareTai64n } from './tai64n.js';
export { ReplayWindow } from './replay.js';
export { RateLimiter, TokenBucket, sourceKey, type RateLimiterOptions, type SourceKey } from './ratelimiter.js';
export { CookieChecker, CookieGenerator } from './cookie.js';
