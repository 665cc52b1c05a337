/**
 * `tunvpn site up|down|show FILE`: declarative topologies (namespaces, bridges, veth pairs, vxlan over the tunnel).
 * `up` applies only what is missing and undoes this run's changes if one fails; `down` removes what the file
 * declares; `show` prints declared vs present. See docs/sites.md.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { SiteApplyError, siteDown, siteShow, siteUp } from '../../site/apply.js';
import { SiteConfigError, SiteConflictError } from '../../site/errors.js';
import { NetlinkSiteSystem } from '../../site/netlink-system.js';
import { parseSite } from '../../site/parse.js';
import { formatReport } from '../../site/show.js';
import type { Site } from '../../site/model.js';
import type { SiteSystem } from '../../site/system.js';
import type { CliContext } from '../context.js';

interface SiteOptions {
  nsPrefix?: string;
  hostNetns?: string;
}

function withCommonOptions(cmd: Command): Command {
  return cmd
    .argument('<file>', 'site file')
    .option('--ns-prefix <prefix>', "prepend to every namespace name in the file (e.g. to run a site file twice)")
    .option('--host-netns <name>', 'act as if the namespace /run/netns/NAME were the host (labs and tests)');
}

async function load(ctx: CliContext, file: string, opts: SiteOptions): Promise<Site> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return ctx.fail(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  try {
    return parseSite(text, file, opts.nsPrefix === undefined ? {} : { namespacePrefix: opts.nsPrefix });
  } catch (e) {
    if (e instanceof SiteConfigError) return ctx.fail(e.message);
    throw e;
  }
}

/** Runs fn with a netlink-backed system; site errors become user errors (message, exit 1, no stack). */
async function withSystem<T>(ctx: CliContext, opts: SiteOptions, fn: (system: SiteSystem) => Promise<T>): Promise<T> {
  const system = new NetlinkSiteSystem(opts.hostNetns === undefined ? {} : { host: opts.hostNetns });
  try {
    return await fn(system);
  } catch (e) {
    if (e instanceof SiteConflictError || e instanceof SiteApplyError) return ctx.fail(e.message);
    throw e;
  } finally {
    await system.close();
  }
}

export function registerSite(program: Command, ctx: CliContext): void {
  const site = program.command('site').description('declarative site topologies: namespaces, bridges, veths, vxlan');

  withCommonOptions(site.command('up').description('create what the site file declares and is missing (idempotent)')).action(
    async (file: string, opts: SiteOptions) => {
      const s = await load(ctx, file, opts);
      await withSystem(ctx, opts, (system) => siteUp(s, system, ctx.logger()));
    },
  );

  withCommonOptions(site.command('down').description('remove exactly what the site file declares')).action(
    async (file: string, opts: SiteOptions) => {
      const s = await load(ctx, file, opts);
      await withSystem(ctx, opts, (system) => siteDown(s, system, ctx.logger()));
    },
  );

  withCommonOptions(site.command('show').description('declared vs present, per object'))
    .option('--json', 'machine-readable output')
    .action(async (file: string, opts: SiteOptions & { json?: boolean }) => {
      const s = await load(ctx, file, opts);
      const rows = await withSystem(ctx, opts, (system) => siteShow(s, system));
      if (opts.json) ctx.io.out(`${JSON.stringify({ file, objects: rows }, null, 2)}\n`);
      else ctx.io.out(`${formatReport(rows)}\n`);
    });
}
