import { createInterface } from "node:readline/promises";
import cliProgress from "cli-progress";
import { displayWidth as width } from "../format-table.ts";

/*
 * Terminal output for the CLI: progress of long operations, aligned tables for list
 * commands, and a live block (the `dev` summary). Each works in two modes: redrawn in place
 * when a person watches a terminal, plain appended lines when the output is a pipe, a file
 * or a CI log, where cursor movement would be garbage.
 */

export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** A person watching a terminal; never in a CI log (`ci`: the command's CliContext.ci, read once by the runner). */
function isTTY(stream: OutputStream, ci: boolean): boolean {
  return stream.isTTY === true && !ci;
}

// ---------------------------------------------------------------- progress

export interface Progress {
  /** Advances by `n` (default 1). */
  increment(n?: number): void;
  /** Sets the absolute count done. */
  update(value: number): void;
  /** The total became known or changed (e.g. a batched query found more). */
  setTotal(total: number): void;
  /** Ends the bar and writes the final line. */
  stop(): void;
}

export interface ProgressOptions {
  /** What is progressing, e.g. "deleting sandboxes". */
  label: string;
  /** Unknown totals (0) are fine: then only the count is shown. */
  total?: number;
  /** Default: stderr, so stdout stays clean for `--json` output. */
  stream?: OutputStream;
  /** Plain mode: a line each time this many percent more are done (default 10). */
  stepPercent?: number;
  /** A CI log (the command's CliContext.ci): plain lines even on a terminal. */
  ci?: boolean;
}

/** A progress bar on a terminal; otherwise a line every `stepPercent` and a final line. */
export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  return isTTY(stream, opts.ci ?? false) ? new BarProgress(opts, stream) : new PlainProgress(opts, stream);
}

class BarProgress implements Progress {
  private readonly bar: cliProgress.SingleBar;
  constructor(opts: ProgressOptions, stream: OutputStream) {
    this.bar = new cliProgress.SingleBar(
      {
        format: `${opts.label} [{bar}] {value}/{total} {percentage}% | {duration_formatted} | eta {eta_formatted}`,
        stream: stream as NodeJS.WritableStream,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(opts.total ?? 0, 0);
  }
  increment(n = 1): void {
    this.bar.increment(n);
  }
  update(value: number): void {
    this.bar.update(value);
  }
  setTotal(total: number): void {
    this.bar.setTotal(total);
  }
  stop(): void {
    this.bar.stop();
  }
}

class PlainProgress implements Progress {
  private value = 0;
  private total: number;
  private lastStep = 0;
  private stopped = false;
  private readonly step: number;
  constructor(
    private readonly opts: ProgressOptions,
    private readonly stream: OutputStream,
  ) {
    this.total = opts.total ?? 0;
    this.step = opts.stepPercent ?? 10;
    this.stream.write(`${opts.label}: started${this.total > 0 ? `, ${this.total} to do` : ""}\n`);
  }
  increment(n = 1): void {
    this.update(this.value + n);
  }
  update(value: number): void {
    this.value = value;
    if (this.total <= 0 || this.stopped) return;
    const step = Math.floor((Math.min(value, this.total) / this.total) * (100 / this.step));
    // One line per step crossed, not per call: a 50 000-item run writes ten lines, not 50 000.
    if (step > this.lastStep && value < this.total) {
      this.lastStep = step;
      this.stream.write(`${this.opts.label}: ${this.count()}\n`);
    }
  }
  setTotal(total: number): void {
    this.total = total;
  }
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stream.write(`${this.opts.label}: done, ${this.count()}\n`);
  }
  private count(): string {
    if (this.total <= 0) return String(this.value);
    return `${this.value}/${this.total} (${Math.floor((this.value / this.total) * 100)}%)`;
  }
}

// ---------------------------------------------------------------- tables

// The table formatter lives below the CLI (src/format-table.ts) so `dev` and others share it.
export { formatTable, type Column } from "../format-table.ts";


// ---------------------------------------------------------------- live block

export interface LiveBlock {
  /** Shows these lines: redrawn in place on a terminal, appended when they changed otherwise. */
  render(lines: readonly string[]): void;
  /** Leaves the last render on screen. */
  done(): void;
}

export function createLiveBlock(stream: OutputStream = process.stdout, opts: { ci?: boolean } = {}): LiveBlock {
  const tty = isTTY(stream, opts.ci ?? false);
  let shown = 0;
  let last: string | undefined;
  return {
    render(lines) {
      // On a terminal a wrapped line would throw off the count of lines to redraw.
      const cols = tty && stream.columns ? stream.columns - 1 : Infinity;
      const text = lines.map((l) => (width(l) > cols ? [...l].slice(0, cols).join("") : l)).join("\n");
      if (text === last) return;
      last = text;
      if (tty) {
        // Up over the previous block, clear to the end of the screen, draw the new one.
        stream.write((shown > 0 ? `\x1b[${shown}F` : "") + "\x1b[0J" + text + "\n");
        shown = lines.length;
      } else {
        stream.write(text + "\n");
      }
    },
    done() {
      shown = 0;
    },
  };
}

/** Asks a yes/no question on the terminal (stderr, so stdout stays machine-readable); default no. */
export async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}
