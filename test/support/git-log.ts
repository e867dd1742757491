// A pino logger that keeps every line in memory, so a test can grep all that was logged for secrets.
import { pino, type Logger } from 'pino';

export interface CapturedLog {
  logger: Logger;
  /** Every line logged so far, as written (JSON). */
  lines: string[];
  text(): string;
}

export function captureLog(level: pino.LevelWithSilent = 'debug'): CapturedLog {
  const lines: string[] = [];
  const logger = pino({ level }, { write: (line: string) => void lines.push(line) });
  return { logger, lines, text: () => lines.join('') };
}
