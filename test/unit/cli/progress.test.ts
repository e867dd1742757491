// Progress output: plain lines (one per new step) off a terminal; a redrawn spinner line on one.
import { describe, expect, it } from 'vitest';
import { Progress } from '../../../src/cli/progress.ts';

describe('Progress', () => {
  it('prints each new step once as a plain line when not on a terminal', () => {
    const out: string[] = [];
    const p = new Progress({ write: (t: string) => out.push(t) });
    p.update('Fetching');
    p.update('Fetching');
    p.update('Applying 2 to configure');
    p.stop();
    expect(out).toEqual(['◎ Fetching\n', '◎ Applying 2 to configure\n']);
  });
  it('redraws one line with a spinner on a terminal and clears it at the end', () => {
    const out: string[] = [];
    const p = new Progress({ write: (t: string) => out.push(t), isTTY: true });
    p.update('Applying');
    p.stop();
    expect(out[0]!.startsWith('\r\x1b[K')).toBe(true);
    expect(out[0]!.slice(4)).toMatch(/^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Applying$/);
    expect(out.at(-1)).toBe('\r\x1b[K');
    expect(out.join('')).not.toContain('\n');
  });
});
