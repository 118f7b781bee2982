/**
 * A one-line progress display on a TTY (stderr): a bar when the total is known, else a
 * spinner with the elapsed time. Prints nothing when stderr is not a terminal.
 */
export class Progress {
  readonly #label: string;
  readonly #enabled: boolean;
  readonly #total: number | undefined;
  readonly #t0 = Date.now();
  #done = 0;
  #frame = 0;
  readonly #timer: NodeJS.Timeout | undefined;

  constructor(label: string, wanted: boolean, totalBytes?: number) {
    this.#label = label;
    this.#enabled = wanted && process.stderr.isTTY === true;
    this.#total = totalBytes;
    // Redraws the spinner and elapsed time; the display is the only thing it drives.
    this.#timer = this.#enabled ? setInterval(() => this.#draw(), 100) : undefined;
    this.#timer?.unref();
  }

  advance(bytes: number): void {
    this.#done += bytes;
  }

  done(message?: string): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    if (this.#enabled) process.stderr.write('\r\x1b[2K');
    if (message !== undefined && this.#enabled) process.stderr.write(`${message}\n`);
  }

  #draw(): void {
    const secs = ((Date.now() - this.#t0) / 1000).toFixed(1);
    let text: string;
    if (this.#total !== undefined && this.#total > 0) {
      const frac = Math.min(1, this.#done / this.#total);
      const width = 30;
      const filled = Math.round(frac * width);
      text = `${this.#label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(frac * 100)}% ${secs}s`;
    } else {
      text = `${this.#label} ${'|/-\\'[this.#frame++ % 4]} ${secs}s`;
    }
    process.stderr.write(`\r\x1b[2K${text}`);
  }
}
