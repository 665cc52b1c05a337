/**
 * The list of `tunvpn` subcommands. To add a command, write `export function registerX(program: Command, ctx:
 * CliContext): void` in its own file (see ../context.ts) and append it here.
 */
import type { RegisterCommand } from '../context.js';
import { registerCheck } from './check.js';
import { registerGenkey, registerGenpsk, registerPubkey } from './keys.js';
import { registerUp } from './up.js';
import { registerDown } from './down.js';
import { registerReload } from './reload.js';
import { registerStrip } from './strip.js';
import { registerShow } from './show.js';
import { registerSite } from './site.js';
import { registerDemo } from './demo.js';
import { registerMesh } from './mesh.js';

export const commands: RegisterCommand[] = [
  registerUp,
  registerDown,
  registerReload,
  registerStrip,
  registerShow,
  registerSite,
  registerMesh,
  registerDemo,
  registerCheck,
  registerGenkey,
  registerPubkey,
  registerGenpsk,
];
