/** Netlink headers and most attribute payloads are in host byte order. */
import { endianness } from 'node:os';

export const HOST_LE = endianness() === 'LE';
