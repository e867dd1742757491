// Progress while waiting: a spinner with the current step on a terminal, one plain line per new step otherwise.
import type { Output } from './command.ts';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export class Progress {
  private message = '';
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: Output) {
    if (out.isTTY) {
      this.timer = setInterval(() => this.draw(), 100);
      this.timer.unref();
    }
  }

  /** Shows `message` when it differs from the last one. */
  update(message: string): void {
    if (!message || message === this.message) return;
    this.message = message;
    if (this.out.isTTY) this.draw();
    else this.out.write(`◎ ${message}\n`);
  }

  /** Stops the spinner and clears its line. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.out.isTTY) this.out.write('\r\x1b[K');
  }

  private draw(): void {
    this.frame = (this.frame + 1) % FRAMES.length;
    this.out.write(`\r\x1b[K${FRAMES[this.frame]} ${this.message || 'waiting for the operator'}`);
  }
}
