// One progress line on stderr for the installer's long steps (download,
// source fetch). On a terminal it redraws in place; elsewhere (CI logs) it
// prints a line per fifth so logs stay short.

const encoder = new TextEncoder();

/** A progress bar for `total` units (bytes, files); `total` 0 means unknown. */
export class Progress {
  #label: string;
  #total: number;
  #tty: boolean;
  #shown = -1;

  constructor(label: string, total: number) {
    this.#label = label;
    this.#total = total;
    this.#tty = Deno.stderr.isTerminal();
  }

  /** Shows `done` units of the total. */
  update(done: number): void {
    const ratio = this.#total > 0 ? Math.min(1, done / this.#total) : 0;
    const step = this.#tty ? Math.floor(ratio * 100) : Math.floor(ratio * 5);
    if (step === this.#shown) return;
    this.#shown = step;
    const width = 30;
    const filled = Math.round(ratio * width);
    const bar = `[${"#".repeat(filled)}${" ".repeat(width - filled)}]`;
    const amount = this.#total > 0
      ? `${Math.round(ratio * 100)}% ${size(done)}/${size(this.#total)}`
      : size(done);
    const line = `ferry: ${this.#label} ${bar} ${amount}`;
    Deno.stderr.writeSync(encoder.encode(this.#tty ? `\r${line}\x1b[K` : `${line}\n`));
  }

  /** Ends the line. */
  done(): void {
    if (this.#tty) Deno.stderr.writeSync(encoder.encode("\n"));
  }
}

function size(n: number): string {
  return n >= 1 << 20
    ? `${(n / (1 << 20)).toFixed(1)} MB`
    : n >= 1024
    ? `${Math.round(n / 1024)} KB`
    : `${n}`;
}
