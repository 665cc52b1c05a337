#!/usr/bin/env node
/**
 * The `tunvpn` command line. `run(argv, io)` does all the work and returns the exit status without exiting,
 * so tests can call it in-process; the few lines at the bottom are the executable's entry point.
 */
import { isMainModule, versionLine } from '../entry.js';
import { Command, CommanderError, Option } from 'commander';
import { createLogger, type Logger } from '../log.js';
import { ConfigError } from '../config/types.js';
import { commands } from './commands/index.js';
import type { CliContext, CliIo } from './context.js';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const DEBUG_LEVELS = new Set(['trace', 'debug']);
/** Standard input beyond this is refused (bytes); no command reads more than a key or a config. */
const MAX_STDIN_BYTES = 1024 * 1024;

/** A user mistake raised through ctx.fail: printed without a stack trace. */
class CliFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliFailure';
  }
}

/**
 * $TUNVPN_LOG_LEVEL when set and not empty (undefined otherwise). Throws CliFailure when it names no level, so a
 * typo is reported rather than quietly logging at info.
 */
function envLogLevel(): string | undefined {
  const env = process.env.TUNVPN_LOG_LEVEL;
  if (!env) return undefined;
  if (!LOG_LEVELS.includes(env)) {
    throw new CliFailure(`TUNVPN_LOG_LEVEL=${env} is not a log level: use one of ${LOG_LEVELS.join(', ')}`);
  }
  return env;
}

/** The real process streams. */
export function processIo(): CliIo {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of process.stdin) {
        const buf = chunk as Buffer;
        size += buf.length;
        if (size > MAX_STDIN_BYTES) throw new CliFailure(`standard input is larger than ${MAX_STDIN_BYTES} bytes`);
        chunks.push(buf);
      }
      const all = Buffer.concat(chunks);
      const text = all.toString('utf8');
      all.fill(0); // stdin may carry a private key
      for (const c of chunks) c.fill(0);
      return text;
    },
  };
}

/** Build the program (fresh each call: commander objects keep parse state). */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('tunvpn')
    .description('a userspace WireGuard-compatible VPN for Linux')
    .version(versionLine('tunvpn'), '-V, --version', 'print the version')
    .addOption(
      new Option('--log-level <level>', 'log verbosity')
        .choices(LOG_LEVELS)
        .default(envLogLevel() ?? 'info', '$TUNVPN_LOG_LEVEL or info'),
    )
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.io.out(s), writeErr: (s) => ctx.io.err(s) })
    .showSuggestionAfterError();
  for (const register of commands) register(program, ctx);
  return program;
}

/** Run the CLI with `argv` (arguments only, no node/script) and return the exit status. Never exits. */
export async function run(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let logger: Logger | undefined;
  const ctx: CliContext = {
    io,
    // Called by commands only, after parsing: `program` is set by then.
    logger: () => (logger ??= createLogger(String(program.opts().logLevel ?? 'info'))),
    fail: (message) => {
      throw new CliFailure(message);
    },
  };
  let program: Command;
  try {
    program = buildProgram(ctx);
  } catch (e) {
    io.err(`${(e as Error).message}\n`);
    return 1;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode; // commander already printed the message or the help
    const debug = DEBUG_LEVELS.has(String(program.opts().logLevel));
    const err = e instanceof Error ? e : new Error(String(e));
    if (e instanceof ConfigError || e instanceof CliFailure) {
      io.err(`${err.message}\n`);
      if (debug && err.stack) io.err(`${err.stack}\n`);
    } else {
      io.err(`tunvpn: ${err.message}\n`);
      io.err(debug && err.stack ? `${err.stack}\n` : '(run with --log-level debug for details)\n');
    }
    return 1;
  }
}

if (isMainModule(import.meta.url)) {
  // A closed pipe (`tunvpn genkey | head -c 4`) is not an error worth a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  // A command may have set process.exitCode itself (e.g. show for a missing interface): keep a failure.
  const status = await run(process.argv.slice(2));
  process.exitCode = status || process.exitCode;
}
