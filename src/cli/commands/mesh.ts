/**
 * `tunvpn mesh show IFACE|CONF [--json]`: the members of an interface's mesh: name, short key, endpoint,
 * AllowedIPs, lease age, latest handshake, and what was refused.
 *
 * - A running interface (IFACE, or a CONF whose interface is up) is asked over its UAPI socket (tunvpn's `mesh=1`
 *   extension): the live view, with handshakes.
 * - A CONF whose interface is not up: one read of the registry, reconciled against the file's static peers as the
 *   agent would (mesh/survey.ts); nothing is written to etcd. No handshakes, of course.
 */
import type { Command } from 'commander';
import { loadConfig } from '../../config/index.js';
import { surveyConfig } from '../../mesh/survey.js';
import { shortKey } from '../../log.js';
import { withClient } from '../../uapi/client.js';
import type { MeshMemberStatus, MeshStatus } from '../../uapi/mesh-format.js';
import { DEFAULT_SOCKET_DIR } from '../../uapi/paths.js';
import type { CliContext } from '../context.js';
import { nameFromArgument } from './down.js';

/** How long the one-shot read waits for etcd, ms. */
const SURVEY_TIMEOUT_MS = 5000;

export interface MeshView {
  interface: string;
  /** 'daemon': the running interface's view; 'registry': one read of etcd for a CONF that is not running. */
  source: 'daemon' | 'registry';
  status: MeshStatus;
}

/** "45s", "2m 5s", "3h 12m", "4d 2h". */
export function shortDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

/** The text form. `nowMs`: wall clock (lease ages are in the status already; handshakes are wall ms). */
export function formatMeshView(view: MeshView, nowMs: number): string {
  const s = view.status;
  const out: string[] = [];
  const where = view.source === 'daemon' ? `running, ${s.state} for ${shortDuration((nowMs - s.since) / 1000)}` : 'not running: one read of the registry';
  out.push(`mesh of ${view.interface} (${where})`);
  if (s.note) out.push(`  note: ${s.note}`);
  if (s.self) {
    const me = s.self;
    out.push(`  this node: ${me.name}  ${shortKey(me.publicKey)}  ${me.endpoint ?? '(endpoint chosen at start)'}  ${me.allowedIPs.join(', ')}${me.vtep ? `  VTEP ${me.vtep}` : ''}`);
  }
  if (s.vtepDevices.length) out.push(`  vxlan following the mesh: ${s.vtepDevices.join(', ')}`);
  out.push('');
  if (s.members.length === 0) out.push('no other members');
  else {
    const rows = [['NAME', 'KEY', 'STATUS', 'ENDPOINT', 'LEASE AGE', 'HANDSHAKE', 'ALLOWED IPS']];
    for (const m of s.members) rows.push(memberRow(m, view.source, nowMs));
    out.push(table(rows));
  }
  if (s.refusals.length) out.push('', 'refused:', ...s.refusals.map((r) => `  ${r}`));
  if (s.invalid.length) out.push('', 'invalid values in the registry:', ...s.invalid.map((i) => `  ${i.key}: ${i.reason}`));
  return `${out.join('\n')}\n`;
}

function memberRow(m: MeshMemberStatus, source: MeshView['source'], nowMs: number): string[] {
  const ips = [...m.allowedIPs, ...m.refusedAllowedIPs.map((p) => `${p} (refused)`)];
  const handshake = m.latestHandshake !== undefined ? `${shortDuration((nowMs - m.latestHandshake) / 1000)} ago` : source === 'daemon' && m.status === 'peer' ? 'none yet' : '-';
  return [
    m.name,
    shortKey(m.publicKey),
    m.status,
    m.endpoint ?? '-',
    m.leaseAgeSeconds !== undefined ? shortDuration(m.leaseAgeSeconds) : '-',
    handshake,
    ips.join(', ') || '(none)',
  ];
}

/** The JSON form: the status as the daemon reports it, with short keys added. */
export function meshViewJson(view: MeshView): unknown {
  const withShort = (m: MeshMemberStatus) => ({ ...m, shortKey: shortKey(m.publicKey) });
  const s = view.status;
  return {
    interface: view.interface,
    source: view.source,
    ...s,
    ...(s.self && { self: withShort(s.self) }),
    members: s.members.map(withShort),
  };
}

export function registerMesh(program: Command, ctx: CliContext): void {
  const mesh = program.command('mesh').description('the mesh on etcd: members of an interface with a [Mesh] section (docs/mesh.md)');
  mesh
    .command('show')
    .description('members of the mesh: name, key, endpoint, AllowedIPs, lease age, handshake')
    .argument('<iface|conf>', 'a running interface, or a configuration file (read from etcd once when not running)')
    .option('--json', 'machine-readable output')
    .option('--socket-dir <dir>', 'UAPI socket directory', DEFAULT_SOCKET_DIR)
    .action(async (arg: string, opts: { json?: boolean; socketDir: string }) => {
      const isConf = arg.endsWith('.conf') || arg.includes('/');
      let name: string;
      try {
        name = nameFromArgument(arg);
      } catch (e) {
        return ctx.fail((e as Error).message);
      }
      let view: MeshView | undefined;
      try {
        const status = await withClient(name, { dir: opts.socketDir }, (c) => c.mesh());
        if (status === null) return ctx.fail(`${name} is in no mesh (its configuration has no [Mesh] section)`);
        view = { interface: name, source: 'daemon', status };
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ECONNREFUSED') throw e;
        if (!isConf) return ctx.fail(`${name} is not up; give its configuration file for a one-shot read of the registry`);
      }
      if (!view) {
        const config = await loadConfig(arg);
        for (const w of config.warnings) ctx.io.err(`warning: ${w}\n`);
        if (!config.mesh) return ctx.fail(`${arg} has no [Mesh] section`);
        try {
          view = { interface: name, source: 'registry', status: { ...(await surveyConfig(config, SURVEY_TIMEOUT_MS)), vtepDevices: [] } };
        } catch (e) {
          return ctx.fail(`${arg}: cannot read the mesh from etcd: ${(e as Error).message}`);
        }
      }
      ctx.io.out(opts.json ? `${JSON.stringify(meshViewJson(view), null, 2)}\n` : formatMeshView(view, Date.now()));
    });
}
