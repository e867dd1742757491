// examples/notifiers/*.yaml: valid Notifier specs whose Secrets hold the keys each type reads.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { NOTIFIER_TYPES, parseNotifierSpec } from '../../../src/api/index.ts';
import { PROVIDERS, parseRepository, type Notification } from '../../../src/notify/index.ts';

const dir = join(import.meta.dirname, '..', '..', '..', 'examples', 'notifiers');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

describe('examples/notifiers', () => {
  it('has one example per type', () => {
    expect(files.map((f) => f.replace(/\.yaml$/, '')).sort()).toEqual([...NOTIFIER_TYPES].sort());
  });

  it.each(files)('%s is a valid Notifier whose Secret has what its type reads', (file) => {
    const docs = yaml.loadAll(readFileSync(join(dir, file), 'utf8')) as Array<{
      kind: string;
      spec?: unknown;
      stringData?: Record<string, string>;
    }>;
    const secret = docs.find((d) => d.kind === 'Secret')!;
    const notifier = docs.find((d) => d.kind === 'Notifier')!;
    const parsed = parseNotifierSpec(notifier.spec);
    expect(parsed.ok, JSON.stringify(parsed)).toBe(true);
    if (!parsed.ok) return;
    const n: Notification = {
      source: { namespace: 'default', name: 'web', url: 'https://git.example.com/org/fleet.git' },
      event: 'Failed',
      reason: 'RenderFailed',
      revision: `main@sha1:${'a'.repeat(40)}`,
      commit: 'a'.repeat(40),
      message: 'm',
      changes: [],
      time: '2026-11-26T20:00:00Z',
    };
    const built = PROVIDERS[parsed.spec.type].build({
      notification: n,
      secret: secret.stringData ?? {},
      address: secret.stringData?.address ?? parsed.spec.address,
      repository: parseRepository(n.source.url),
      incidentKey: 'converge/default/web/RenderFailed',
    });
    expect(built.kind).toBe('request');
  });
});
