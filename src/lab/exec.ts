/**
 * Running programs inside the lab's namespaces with `ip netns exec` (which execs the program, so a child's pid is
 * the program's own pid). Every process started here is tracked in a ProcessSet so the lab can kill whatever is
 * left, also from a synchronous 'exit' handler.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

/** Bytes of output kept per process (the tail); enough for iperf3's JSON with -P 4. */
const MAX_OUTPUT_CHARS = 4 * 1024 * 1024;

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export class ExecError extends Error {
  constructor(
    readonly command: string,
    readonly result: ExecResult,
  ) {
    const why = result.signal ? `killed by ${result.signal}` : `exit code ${result.code}`;
    const detail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-5).join('\n');
    super(`${command}: ${why}${detail ? `\n${detail}` : ''}`);
    this.name = 'ExecError';
  }
}

/** A started process with its output accumulating, and a way to wait for a line of it. */
export class LabProcess {
  private out = '';
  private err = '';
  private waiters: Array<() => void> = [];
  readonly exited: Promise<ExecResult>;

  constructor(
    readonly child: ChildProcess,
    readonly command: string,
  ) {
    const wake = () => {
      for (const w of this.waiters.splice(0)) w();
    };
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => {
      this.out = keepTail(this.out + d);
      wake();
    });
    child.stderr?.on('data', (d: string) => {
      this.err = keepTail(this.err + d);
      wake();
    });
    this.exited = new Promise((resolve) => {
      child.once('error', (e) => {
        this.err += `\n${e.message}`;
        resolve({ code: null, signal: null, stdout: this.out, stderr: this.err });
        wake();
      });
      child.once('close', (code, signal) => {
        resolve({ code, signal, stdout: this.out, stderr: this.err });
        wake();
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined;
  }
  get output(): string {
    return this.out + this.err;
  }

  /** Resolves when stdout+stderr match `re`; rejects on exit or timeout, with the output so far. */
  waitFor(re: RegExp, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.command}: no ${re} within ${timeoutMs} ms; output:\n${tail(this.output)}`)), timeoutMs);
      const check = () => {
        if (re.test(this.output)) {
          clearTimeout(timer);
          resolve();
        } else if (!this.running) {
          clearTimeout(timer);
          reject(new Error(`${this.command}: exited (${this.child.exitCode ?? this.child.signalCode}) before ${re}; output:\n${tail(this.output)}`));
        } else this.waiters.push(check);
      };
      check();
    });
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(graceMs: number): Promise<ExecResult> {
    if (this.running) this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killer = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        if (this.running) this.child.kill('SIGKILL');
        resolve();
      }, graceMs);
    });
    await Promise.race([this.exited, killer]);
    clearTimeout(timer);
    return this.exited;
  }
}

function keepTail(s: string): string {
  return s.length > MAX_OUTPUT_CHARS ? s.slice(s.length - MAX_OUTPUT_CHARS) : s;
}
function tail(s: string): string {
  return s.split('\n').slice(-20).join('\n');
}

/** Every process the lab started; killAllSync is safe in a process 'exit' handler. */
export class ProcessSet {
  private readonly procs = new Set<LabProcess>();

  /** Starts `cmd args` inside namespace `ns` (or in the caller's namespace when ns is undefined). */
  spawn(ns: string | undefined, cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): LabProcess {
    const argv = ns === undefined ? [cmd, ...args] : ['ip', 'netns', 'exec', ns, cmd, ...args];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
    const proc = new LabProcess(child, `${ns ? `[${ns}] ` : ''}${cmd} ${args.join(' ')}`);
    this.procs.add(proc);
    void proc.exited.then(() => this.procs.delete(proc));
    return proc;
  }

  /** Runs to completion; rejects with ExecError on a non-zero exit (unless allowFail) or after timeoutMs. */
  async run(ns: string | undefined, cmd: string, args: readonly string[], opts: { timeoutMs: number; allowFail?: boolean }): Promise<ExecResult> {
    const proc = this.spawn(ns, cmd, args);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      proc.child.kill('SIGKILL');
    }, opts.timeoutMs);
    const result = await proc.exited;
    clearTimeout(timer);
    if (timedOut) throw new ExecError(`${proc.command} (timed out after ${opts.timeoutMs} ms)`, result);
    if (!opts.allowFail && result.code !== 0) throw new ExecError(proc.command, result);
    return result;
  }

  async stopAll(graceMs: number): Promise<void> {
    await Promise.all([...this.procs].map((p) => p.stop(graceMs)));
  }

  killAllSync(): void {
    for (const p of this.procs) if (p.running) p.child.kill('SIGKILL');
  }

  get size(): number {
    return this.procs.size;
  }
}

/** Whether an executable called `name` is on $PATH. */
export function onPath(name: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}
