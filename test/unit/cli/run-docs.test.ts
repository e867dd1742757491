// `converge run --help` and README's "Operating it" say what the code does: every flag, every webhook
// path, the token's minimum length, and what happens to a password in spec.url.
import { readFileSync } from 'node:fs';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConvergeError } from '../../../src/api/index.ts';
import { RUN_FLAGS, USAGE } from '../../../src/cli/options.ts';
import { checkUrl } from '../../../src/source/git/validate.ts';
import { TokenFile } from '../../../src/ui/auth.ts';
import { HOOK_PATH_NAMES } from '../../../src/webhook/index.ts';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
/** README's "## Operating it" section, up to the next top-level heading. */
const operating = README.slice(
  README.indexOf('\n## Operating it'),
  README.indexOf('\n## ', README.indexOf('\n## Operating it') + 5),
);

describe('converge run --help', () => {
  it.each(Object.keys(RUN_FLAGS))('lists --%s', (flag) => {
    expect(USAGE).toMatch(new RegExp(`--${flag}\\b`));
  });

  it.each(HOOK_PATH_NAMES)('lists the webhook path /%s', (name) => {
    expect(USAGE).toMatch(new RegExp(`/${name}\\b`));
  });

  it('says the status page token needs 16 characters, as the code checks', () => {
    expect(USAGE).toMatch(/--ui-token-file[\s\S]*at least 16 characters/);
    const dir = mkdtempSync(join(tmpdir(), 'token-'));
    writeFileSync(join(dir, 'short'), 'fifteen-chars-x');
    writeFileSync(join(dir, 'ok'), 'sixteen-chars-xx');
    expect(() => new TokenFile(join(dir, 'short'))).toThrow(/at least 16 characters/);
    expect(() => new TokenFile(join(dir, 'ok'))).not.toThrow();
  });
});

describe("README's Operating it", () => {
  it.each(Object.keys(RUN_FLAGS))('lists --%s', (flag) => {
    expect(operating).toMatch(new RegExp(`--${flag}\\b`));
  });

  it.each(HOOK_PATH_NAMES)('lists the webhook path /%s', (name) => {
    expect(operating).toMatch(new RegExp(`/${name}\\b`));
  });

  it('documents the token minimum', () => {
    expect(operating).toMatch(/--ui-token-file[^\n]*at least 16 characters/);
    expect(README).toMatch(/--ui-token-file PATH`[\s\S]{0,200}at least 16 characters/);
  });
});

describe('a password in spec.url', () => {
  it('is refused outright by the code, and the README says so (no "masked" claim)', () => {
    expect(() => checkUrl('https://bot:hunter2-secret@git.example.com/org/fleet.git', false)).toThrow(
      ConvergeError,
    );
    expect(() => checkUrl('https://bot:hunter2-secret@git.example.com/org/fleet.git', false)).toThrow(
      /must not embed a password/,
    );
    expect(README).not.toMatch(/credentials in\s+`spec\.url` are masked/);
    expect(README).toMatch(/password in\s+`?spec\.url`? is refused outright/);
  });
});
