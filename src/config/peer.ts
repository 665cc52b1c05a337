/** A [Peer] section: one pass over its entries into a PeerConfig. */
import { formatPrefix, type Prefix } from '../net/ip.js';
import type { PeerConfig } from './types.js';
import type { Section } from './lines.js';
import { checkKey, type ParseContext } from './context.js';
import { allowedIpValue, endpointValue, keyValue, listItems, persistentKeepaliveValue, quote } from './values.js';

export interface ParsedPeer {
  /** Undefined when PublicKey is missing or invalid (an error was recorded). */
  config: PeerConfig | undefined;
  publicKeyLine: number;
  /** Line of each prefix in config.allowedIPs, same order. */
  allowedIpLines: number[];
}

export function parsePeer(ctx: ParseContext, section: Section): ParsedPeer {
  const seen = new Map<string, number>();
  let publicKey: Uint8Array | undefined;
  let publicKeyLine = 0;
  const allowedIPs: Prefix[] = [];
  const allowedIpLines: number[] = [];
  const rest: Pick<PeerConfig, 'presharedKey' | 'endpoint' | 'persistentKeepalive'> = {};

  for (const entry of section.entries) {
    const key = checkKey(ctx, 'peer', entry, seen);
    if (!key) continue;
    const { line, value } = entry;
    switch (key) {
      case 'PublicKey':
        publicKeyLine = line;
        publicKey = ctx.attempt(line, () => keyValue('PublicKey', value));
        break;
      case 'PresharedKey': {
        const psk = ctx.attempt(line, () => keyValue('PresharedKey', value));
        if (psk) rest.presharedKey = psk;
        break;
      }
      case 'AllowedIPs': {
        // wg refuses an empty AllowedIPs line ("Line unrecognized") and an empty item ("Unable to parse IP address").
        if (value === '') {
          ctx.error(line, 'AllowedIPs has no value (wg refuses an empty AllowedIPs line; leave the line out instead)');
          break;
        }
        if (value.split(',').some((item) => item.trim() === '')) {
          ctx.error(line, `AllowedIPs ${quote(value)} has an empty item between commas (wg refuses it)`);
          break;
        }
        for (const item of listItems(value)) {
          const parsed = ctx.attempt(line, () => allowedIpValue(item));
          if (!parsed) continue;
          const text = formatPrefix(parsed.prefix);
          if (parsed.masked) ctx.warn(line, `AllowedIPs ${item} has host bits set; using ${text}`);
          // Listed again: it counts once, at its last place, as the kernel and wireguard-go order a peer's prefixes.
          const dup = allowedIPs.findIndex((p) => formatPrefix(p) === text);
          if (dup >= 0) {
            ctx.warn(line, `AllowedIPs ${text} is listed twice for this peer (also at line ${allowedIpLines[dup]})`);
            allowedIPs.splice(dup, 1);
            allowedIpLines.splice(dup, 1);
          }
          allowedIPs.push(parsed.prefix);
          allowedIpLines.push(line);
        }
        break;
      }
      case 'Endpoint': {
        const endpoint = ctx.attempt(line, () => endpointValue(value));
        if (endpoint) rest.endpoint = endpoint;
        break;
      }
      case 'PersistentKeepalive': {
        const seconds = ctx.attempt(line, () => persistentKeepaliveValue(value));
        if (seconds !== undefined) rest.persistentKeepalive = seconds;
        break;
      }
    }
  }

  if (publicKeyLine === 0) ctx.error(section.line, '[Peer] has no PublicKey (it is required)');
  if (publicKey && allowedIPs.length === 0) {
    ctx.warn(section.line, 'peer has no AllowedIPs: no traffic will be sent to it or accepted from it');
  }
  const config = publicKey && { line: section.line, publicKey, allowedIPs, ...rest };
  return { config, publicKeyLine, allowedIpLines };
}
