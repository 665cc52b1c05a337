/** The [Interface] section: one pass over its entries into an InterfaceConfig. */
import { publicKeyOf } from '../crypto/x25519.js';
import { formatPrefix, type Prefix } from '../net/ip.js';
import type { InterfaceConfig } from './types.js';
import type { Section } from './lines.js';
import { checkKey, type ParseContext } from './context.js';
import {
  booleanValue,
  dnsEntryValue,
  fwMarkValue,
  keyValue,
  listenPortValue,
  listItems,
  mtuValue,
  prefixValue,
  tableValue,
} from './values.js';

export interface ParsedInterface {
  /** Undefined when PrivateKey is missing or invalid (an error was recorded). */
  config: InterfaceConfig | undefined;
  /** Line of each address in config.addresses, same order. */
  addressLines: number[];
  mtuLine?: number;
}

export function parseInterface(ctx: ParseContext, section: Section): ParsedInterface {
  const seen = new Map<string, number>();
  let privateKey: Uint8Array | undefined;
  let privateKeyGiven = false;
  const addresses: Prefix[] = [];
  const addressLines: number[] = [];
  const out: Omit<InterfaceConfig, 'privateKey' | 'publicKey' | 'addresses' | 'line'> = {
    table: 'auto',
    dns: { servers: [], search: [] },
    preUp: [],
    postUp: [],
    preDown: [],
    postDown: [],
    saveConfig: false,
  };
  let mtuLine: number | undefined;

  for (const entry of section.entries) {
    const key = checkKey(ctx, 'interface', entry, seen);
    if (!key) continue;
    const { line, value } = entry;
    switch (key) {
      case 'PrivateKey':
        privateKeyGiven = true;
        privateKey = ctx.attempt(line, () => keyValue('PrivateKey', value));
        break;
      case 'Address':
        for (const item of listItems(value)) {
          const p = ctx.attempt(line, () => prefixValue('Address', item));
          if (!p) continue;
          const text = formatPrefix(p);
          const dup = addresses.findIndex((a) => formatPrefix(a) === text);
          if (dup >= 0) {
            ctx.warn(line, `Address ${text} is listed twice (also at line ${addressLines[dup]}); using it once`);
            continue;
          }
          addresses.push(p);
          addressLines.push(line);
        }
        break;
      case 'ListenPort': {
        const port = ctx.attempt(line, () => listenPortValue(value));
        if (port !== undefined) out.listenPort = port;
        break;
      }
      case 'MTU': {
        const mtu = ctx.attempt(line, () => mtuValue(value));
        if (mtu !== undefined) {
          out.mtu = mtu;
          mtuLine = line;
        }
        break;
      }
      case 'Table': {
        const table = ctx.attempt(line, () => tableValue(value));
        if (table !== undefined) out.table = table;
        break;
      }
      case 'FwMark': {
        const mark = ctx.attempt(line, () => fwMarkValue(value));
        if (mark !== undefined) out.fwMark = mark;
        break;
      }
      case 'DNS':
        for (const item of listItems(value)) {
          const d = ctx.attempt(line, () => dnsEntryValue(item));
          if (d?.kind === 'server') out.dns.servers.push(d.address);
          else if (d?.kind === 'search') out.dns.search.push(d.domain);
        }
        break;
      case 'SaveConfig': {
        const save = ctx.attempt(line, () => booleanValue('SaveConfig', value));
        if (save !== undefined) out.saveConfig = save;
        if (save) ctx.warn(line, 'SaveConfig is not supported: tunvpn never rewrites the configuration file');
        break;
      }
      case 'PreUp':
      case 'PostUp':
      case 'PreDown':
      case 'PostDown':
        if (value !== '') out[hookField(key)].push(value);
        break;
    }
  }

  if (!privateKeyGiven) ctx.error(section.line, '[Interface] has no PrivateKey (it is required)');
  const config = privateKey && { line: section.line, privateKey, publicKey: publicKeyOf(privateKey), addresses, ...out };
  return mtuLine === undefined ? { config, addressLines } : { config, addressLines, mtuLine };
}

function hookField(key: 'PreUp' | 'PostUp' | 'PreDown' | 'PostDown'): 'preUp' | 'postUp' | 'preDown' | 'postDown' {
  return key === 'PreUp' ? 'preUp' : key === 'PostUp' ? 'postUp' : key === 'PreDown' ? 'preDown' : 'postDown';
}
