/**
 * The small context each `tunvpn` subcommand receives at registration.
 *
 * A command is `export function registerX(program: Command, ctx: CliContext): void` in its own file, listed in
 * commands/index.ts. A registration that ignores `ctx` can keep the one-argument form `(program: Command) => void`.
 * Commands write through `ctx.io` (not process.stdout) so tests can run the CLI in-process, and report user
 * mistakes with `ctx.fail(message)` or by throwing ConfigError: those print without a stack trace and exit 1.
 * Never call process.exit in a command.
 */
import type { Command } from 'commander';
import type { Logger } from '../log.js';

export interface CliIo {
  /** Write text to standard output (add the newline yourself). */
  out(text: string): void;
  /** Write text to standard error. */
  err(text: string): void;
  /** All of standard input as UTF-8, up to a limit (the read fails beyond it). */
  readStdin(): Promise<string>;
}

export interface CliContext {
  io: CliIo;
  /** The process logger at the --log-level given; created on first use (after options are parsed). */
  logger(): Logger;
  /** Stop the command with a user error: `message` goes to stderr (no stack trace) and the exit status is 1. */
  fail(message: string): never;
}

export type RegisterCommand = (program: Command, ctx: CliContext) => void;
