/** One progress line on stderr: rewritten in place on a terminal, one line per update otherwise. */
export class Progress {
  private last = 0;
  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly enabled = true,
  ) {}

  update(text: string): void {
    if (!this.enabled) return;
    if (this.stream.isTTY) {
      const cols = this.stream.columns ?? 100;
      const line = text.length > cols - 1 ? text.slice(0, cols - 2) + '…' : text;
      this.stream.write(`\r${line.padEnd(Math.max(this.last, line.length))}`);
      this.last = line.length;
    } else {
      this.stream.write(`${text}\n`);
    }
  }

  /** Ends the in-place line so later output starts on a fresh line. */
  done(): void {
    if (this.enabled && this.stream.isTTY && this.last > 0) this.stream.write('\n');
    this.last = 0;
  }
}
