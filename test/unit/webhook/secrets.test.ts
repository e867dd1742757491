// Webhook secrets from a file: trailing newline ignored, re-read after the TTL (rotation), scoped
// to the namespace of a namespaced path; a missing file means no secret, never a crash.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createWebhookSecrets } from '../../../src/webhook/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'converge-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const logger = pino({ level: 'silent' });

describe('createWebhookSecrets', () => {
  it('reads the file, scopes it, and picks up a rotation after the TTL', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, 'first\n');
    let now = 0;
    const secrets = createWebhookSecrets({
      file,
      hasSources: () => false,
      logger,
      ttlMs: 1000,
      now: () => now,
    });
    expect(secrets.configured).toBe(true);
    expect(await secrets.candidates(undefined)).toEqual([{ secret: Buffer.from('first'), scope: '*' }]);
    expect(await secrets.candidates('team-a')).toEqual([{ secret: Buffer.from('first'), scope: 'team-a' }]);
    writeFileSync(file, 'second');
    now = 999;
    expect((await secrets.candidates(undefined))[0]!.secret.toString()).toBe('first');
    now = 1000;
    expect((await secrets.candidates(undefined))[0]!.secret.toString()).toBe('second');
  });

  it('has no candidates for a missing or empty file, and is unconfigured without any source', async () => {
    const missing = createWebhookSecrets({ file: join(dir, 'nope'), hasSources: () => true, logger });
    expect(await missing.candidates(undefined)).toEqual([]);
    writeFileSync(join(dir, 'empty'), '\n');
    const empty = createWebhookSecrets({ file: join(dir, 'empty'), hasSources: () => true, logger });
    expect(await empty.candidates(undefined)).toEqual([]);
    expect(createWebhookSecrets({ hasSources: () => true, logger }).configured).toBe(false);
  });
});
