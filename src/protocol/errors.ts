/**
 * Why the protocol core rejected a datagram: the union of message classification errors (messages.ts), handshake
 * errors (noise.ts) and the core's own checks. Every rejected datagram is counted under one of these names
 * (device/stats.ts), and rejected handshake messages are also reported as events (events.ts).
 */
import type { ParseError } from './messages.js';
import type { NoiseError } from './noise.js';

export type ErrorKind =
  | ParseError
  | NoiseError
  | 'invalidMac1'
  | 'cookieSent' // under load and no valid mac2: we answered with a cookie reply instead
  | 'rateLimited' // under load, valid mac2, but its source address sent more handshakes than its share
  | 'cookieRateLimited' // under load, no valid mac2, and its source already had its share of cookie replies
  | 'unknownIndex'
  | 'invalidCookieReply'
  | 'expiredSession'
  | 'authFailed'
  | 'replayedCounter'
  | 'badInnerPacket'
  | 'disallowedSource';
