// The committed CRDs must be exactly what the zod schemas generate, and the schema must stay structural.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  gitSourceCrdYaml,
  imagePolicyCrdYaml,
  notifierCrdYaml,
  parseDuration,
  parseSpec,
} from '../../../src/api/index.ts';

const root = join(import.meta.dirname, '..', '..', '..');

describe('generated CRD', () => {
  it.each(['crds/gitsource.yaml', 'deploy/helm/converge/crds/gitsource.yaml'])(
    '%s is up to date (run `npm run generate`)',
    (rel) => {
      expect(readFileSync(join(root, rel), 'utf8')).toBe(gitSourceCrdYaml());
    },
  );

  it.each(['crds/notifier.yaml', 'deploy/helm/converge/crds/notifier.yaml'])(
    '%s is up to date (run `npm run generate`)',
    (rel) => {
      expect(readFileSync(join(root, rel), 'utf8')).toBe(notifierCrdYaml());
    },
  );

  it.each(['crds/imagepolicy.yaml', 'deploy/helm/converge/crds/imagepolicy.yaml'])(
    '%s is up to date (run `npm run generate`)',
    (rel) => {
      expect(readFileSync(join(root, rel), 'utf8')).toBe(imagePolicyCrdYaml());
    },
  );

  it('has no additionalProperties beside properties (structural schema)', () => {
    const text = gitSourceCrdYaml();
    expect(text).not.toMatch(/additionalProperties: false/);
    expect(text).not.toMatch(/anyOf|oneOf|\$ref/);
  });
});

describe('parseSpec', () => {
  it('fills defaults', () => {
    const r = parseSpec({ url: 'https://example.com/r.git' });
    expect(r).toMatchObject({
      ok: true,
      spec: {
        path: '.',
        interval: '1m',
        prune: true,
        wait: true,
        drift: 'Correct',
        deletionPolicy: 'Orphan',
      },
    });
  });
  it('names the bad field', () => {
    const r = parseSpec({ url: 'https://example.com/r.git', drift: 'Fix' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/^spec\.drift:/);
  });
});

describe('parseDuration', () => {
  it.each([
    ['1m', 60_000],
    ['90s', 90_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['1.5s', 1500],
  ])('%s → %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));
  it.each(['', '5', 'm', '1x', '1m-'])('rejects %j', (text) =>
    expect(() => parseDuration(text)).toThrow(/invalid duration/),
  );
});
