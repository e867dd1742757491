// sanitizeMessage: what git servers, kustomize and helm print is made safe and bounded before it reaches status, events or logs.
import { describe, expect, it } from 'vitest';
import {
  ConvergeError,
  ERROR_MAX_BYTES,
  formatTimeout,
  sanitizeMessage,
  truncateBytes,
} from '../../../src/api/index.ts';
import { mergeConditions } from '../../../src/report/index.ts';
import { transitionEvents } from '../../../src/report/events.ts';

const bytes = (s: string) => Buffer.byteLength(s);

describe('sanitizeMessage', () => {
  it('strips terminal escape sequences: colours, cursor moves, titles, hyperlinks, 8-bit CSI', () => {
    expect(sanitizeMessage('\x1b[31merror:\x1b[0m bad \x1b[2J\x1b[1;1Hthing')).toBe('error: bad thing');
    expect(sanitizeMessage('a\x1b]0;pwned title\x07b')).toBe('ab');
    expect(sanitizeMessage('see \x1b]8;;https://evil.example\x1b\\here\x1b]8;;\x1b\\ now')).toBe(
      'see here now',
    );
    expect(sanitizeMessage('x\x1bPq#0;2;0;0;0\x1b\\y')).toBe('xy');
    expect(sanitizeMessage('a\u009b31mb')).toBe('ab');
    expect(sanitizeMessage('a\x1b(0b\x1bc\x1b')).toBe('ab');
    // An unterminated OSC swallows the rest rather than letting it reach a terminal.
    expect(sanitizeMessage('ok \x1b]0;never closed')).toBe('ok');
  });

  it('removes control characters, keeps newlines, and turns \\r and tabs into plain text', () => {
    expect(sanitizeMessage('a\x00b\x07c\x08d\x7fe\x85f')).toBe('abcdef');
    expect(sanitizeMessage('line 1\r\nline 2\rline 3')).toBe('line 1\nline 2\nline 3');
    // The classic: \r makes a terminal overwrite "fatal" with something reassuring.
    expect(sanitizeMessage('fatal: denied\rall good   ')).toBe('fatal: denied\nall good');
    expect(sanitizeMessage('a\tb\vc\fd')).toBe('a b c d');
    expect(sanitizeMessage('a\n\n\n\n\nb')).toBe('a\n\nb');
  });

  it('removes bidi overrides, isolates and invisible characters (Trojan Source)', () => {
    expect(sanitizeMessage('access\u202e\u2066 granted\u2069\u202c')).toBe('access granted');
    expect(sanitizeMessage('a\u200bb\ufeffc\u200e\u200f\u061cd\u2060e')).toBe('abcde');
    // Joiners are letters' business in many scripts: kept.
    expect(sanitizeMessage('می\u200cخواهم')).toBe('می\u200cخواهم');
    expect(sanitizeMessage('x\u2028y')).toBe('x\ny');
  });

  it('bounds the text in UTF-8 bytes, never cutting a character, and marks the cut', () => {
    const long = 'x'.repeat(5000);
    const out = sanitizeMessage(long);
    expect(bytes(out)).toBeLessThanOrEqual(1024);
    expect(out.endsWith('…')).toBe(true);
    for (const unit of ['é', '€', '😀', '👩‍👩‍👧']) {
      for (let pad = 0; pad < 4; pad++) {
        const cut = sanitizeMessage('a'.repeat(pad) + unit.repeat(600));
        expect(bytes(cut)).toBeLessThanOrEqual(1024);
        expect(cut.endsWith('…')).toBe(true);
        expect(cut).not.toMatch(/\ufffd/);
        expect(Buffer.from(cut).toString()).toBe(cut); // well-formed: no half characters
        // Nothing but whole characters of the input before the marker.
        expect([...cut.slice(pad, -1)].every((c) => unit.includes(c))).toBe(true);
      }
    }
    expect(sanitizeMessage('short')).toBe('short');
    expect(truncateBytes('abcdef', 5)).toBe('ab…');
    expect(sanitizeMessage('😀'.repeat(300), { maxBytes: 10 })).toBe('😀…');
  });

  it('replaces lone surrogates, and is idempotent', () => {
    expect(sanitizeMessage('a\ud800b')).toBe('a\ufffdb');
    const samples = ['\x1b[31mred\x1b[0m', 'x'.repeat(3000), 'a\r\nb', '😀'.repeat(400), 'q\u202e'];
    for (const s of samples) expect(sanitizeMessage(sanitizeMessage(s))).toBe(sanitizeMessage(s));
  });

  it('is applied to every ConvergeError, to conditions and to event notes', () => {
    const err = new ConvergeError(
      'FetchFailed',
      `git fetch failed: \x1b[31mremote: \x1b]0;t\x07boom\r${'y'.repeat(9000)}`,
    );
    expect(err.message.startsWith('git fetch failed: remote: boom\ny')).toBe(true);
    expect(bytes(err.message)).toBeLessThanOrEqual(ERROR_MAX_BYTES);

    const [ready] = mergeConditions(
      [],
      [
        {
          type: 'Ready',
          status: 'False',
          reason: 'RenderFailed',
          message: `\x1b[1mbad\x1b[0m ${'z'.repeat(4000)}`,
        },
      ],
      [],
      1,
      '2026-01-01T00:00:00Z',
    );
    expect(ready!.message.startsWith('bad zzz')).toBe(true);
    expect(bytes(ready!.message)).toBeLessThanOrEqual(1024);

    const events = transitionEvents(
      [{ type: 'Ready', status: 'True', reason: 'Converged', message: '', lastTransitionTime: '' }],
      [
        {
          type: 'Ready',
          status: 'False',
          reason: 'FetchFailed',
          message: `\x1b[2Jwiped ${'€'.repeat(1000)}`,
          lastTransitionTime: '',
        },
      ],
    );
    expect(events.length).toBeGreaterThan(0);
    for (const e of events) {
      expect(bytes(e.note)).toBeLessThanOrEqual(1024);
      expect(e.note.includes('\x1b')).toBe(false);
    }
  });
});

describe('formatTimeout', () => {
  it('says timeouts the way people write them', () => {
    expect(
      [300, 999, 1000, 1500, 9_999, 29_987, 30_000, 60_000, 90_000, 120_000, 3_600_000, 3_690_000].map(
        formatTimeout,
      ),
    ).toEqual(['300ms', '999ms', '1s', '1.5s', '10s', '30s', '30s', '1m', '1m30s', '2m', '1h', '1h1m30s']);
  });
});
