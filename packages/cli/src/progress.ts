import cliProgress from 'cli-progress';

export interface ProgressOptions {
  /** What is counted, e.g. `rows`. */
  unit: string;
  /** Where progress goes (stderr by default, so stdout keeps the command's result). */
  stream?: NodeJS.WriteStream;
  /** Plain mode: at most one line per this many ms (the last one is always written). */
  lineIntervalMs?: number;
}

/**
 * Progress of a long command: a bar on a terminal, plain lines otherwise
 * (logs, CI, pipes), never both. `stop()` ends it (idempotent).
 */
export class Progress {
  private readonly stream: NodeJS.WriteStream;
  private readonly bar?: cliProgress.SingleBar;
  private done = 0;
  private lastLine = 0;
  private stopped = false;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly options: ProgressOptions,
  ) {
    this.stream = options.stream ?? process.stderr;
    if (this.stream.isTTY) {
      this.bar = new cliProgress.SingleBar(
        { format: `${label} [{bar}] {percentage}% | {value}/{total} ${options.unit} | {duration_formatted}`, stream: this.stream, hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, 0);
    } else {
      this.line();
    }
  }

  /** `done` of the total are finished now. */
  update(done: number): void {
    this.done = done;
    if (this.bar) this.bar.update(this.done);
    else if (Date.now() - this.lastLine >= (this.options.lineIntervalMs ?? 2000)) this.line();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.bar) this.bar.stop();
    else this.line();
  }

  private line(): void {
    this.lastLine = Date.now();
    const pct = this.total ? Math.floor((this.done / this.total) * 100) : 100;
    this.stream.write(`${this.label}: ${this.done}/${this.total} ${this.options.unit} (${pct}%)\n`);
  }
}
