/**
 * The calls every concern that owns a long-lived fd (a TUN device, a UDP socket, a netlink socket) shares: open it
 * inside a network namespace (netns.cc's withNetns), watch it on the event loop (watch.cc), close it (fdio.cc).
 */
import type { NativeFdIo } from './fdio.js';
import type { NativeNetns } from './netns.js';
import type { NativePoll } from './poll.js';

export type NativeFdLifecycle = Pick<NativeNetns, 'withNetns'> & NativePoll & Pick<NativeFdIo, 'close'>;
