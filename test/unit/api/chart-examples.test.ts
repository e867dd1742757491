// The chart examples are ready to apply: each GitSource in examples/charts parses with the schema.
import { readFileSync } from 'node:fs';
import * as yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../../src/api/index.ts';
import { sourceOf } from '../../../src/source/index.ts';

describe('examples/charts', () => {
  for (const file of ['gitsource-https.yaml', 'gitsource-s3.yaml', 'gitsource-values-from-git.yaml'])
    it(`${file} parses and names a chart source`, () => {
      const docs = yaml.loadAll(readFileSync(`examples/charts/${file}`, 'utf8')) as Array<{
        kind: string;
        spec: unknown;
      }>;
      const gs = docs.find((d) => d.kind === 'GitSource')!;
      const parsed = parseSpec(gs.spec);
      expect(parsed.ok, parsed.ok ? '' : parsed.error).toBe(true);
      if (parsed.ok) expect(sourceOf(parsed.spec).kind).toBe('chart');
    });
});
