// Limits that keep hostile renders from reaching the operator's memory: counted before parsing, checked before kustomize runs, stopped as tools stream.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClientTools } from '../../../src/render/index.ts';
import { DocumentCounter } from '../../../src/render/exec.ts';
import { renderManifests } from '../../../src/render/index.ts';
import { clientTools, configMap, makeRepo } from './support.ts';

let tools: ClientTools;
beforeAll(async () => {
  tools = await clientTools();
}, 120_000);

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function repo(files: Record<string, string>): Promise<string> {
  const r = await makeRepo(files);
  cleanups.push(r.cleanup);
  return r.root;
}

const MiB = 1024 * 1024;
const chart = { 'flood/Chart.yaml': 'apiVersion: v2\nname: flood\nversion: 0.1.0\n' };

describe('DocumentCounter', () => {
  const feed = (text: string, chunk: number) => {
    const counter = new DocumentCounter();
    const buf = Buffer.from(text);
    for (let i = 0; i < buf.length; i += chunk) counter.add(buf.subarray(i, i + chunk));
    return { count: counter.count, largest: counter.largest };
  };

  it('counts documents by separator lines and measures the largest, however the stream is cut', () => {
    const text = `a: 1\n---\nb: ${'x'.repeat(100)}\n--- # comment\n---\nc: 3\n`;
    for (const chunk of [1, 2, 3, 4, 5, 7, 64, 4096]) {
      expect(feed(text, chunk), `chunk ${chunk}`).toEqual({ count: 4, largest: 108 }); // `---\n` + `b: x…\n`
    }
    // A leading separator (helm) starts the first document; `----` and `---x` are not separators.
    expect(feed('---\n# Source: a\nx: 1\n---\ny: 2\n', 3)).toEqual({ count: 2, largest: 21 });
    expect(feed('a: |\n  ----\n---x: 1\n', 2).count).toBe(1);
    expect(feed('---\n'.repeat(1000), 5).count).toBe(1000);
    expect(feed('', 1)).toEqual({ count: 0, largest: 0 });
  });

  it('sees a document grow without a newline', () => {
    const counter = new DocumentCounter();
    for (let i = 0; i < 10; i++) counter.add(Buffer.alloc(1000, 'x'));
    expect(counter.largest).toBe(10_000);
    expect(counter.count).toBe(1);
  });
});

describe('hostile inputs are refused early', () => {
  it('200,000 empty documents: refused before they are parsed', async () => {
    const root = await repo({ 'docs.yaml': '---\n'.repeat(200_000) });
    const started = performance.now();
    await expect(renderManifests({ root, tools })).rejects.toThrow(
      'more than 10000 YAML documents (at docs.yaml, document 10001)',
    );
    // No parse of 200,000 documents happened (that alone takes seconds).
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it(
    'a file named by a kustomization over the per-file limit: refused before kustomize runs',
    { timeout: 60_000 },
    async () => {
      const big = 'x'.repeat(6 * MiB);
      const cases: [string, Record<string, string>, string][] = [
        [
          'resources',
          { 'kustomization.yaml': 'resources: [big.yaml]\n', 'big.yaml': big },
          'resources[0] "big.yaml"',
        ],
        [
          'generator files (key=path)',
          {
            'kustomization.yaml': 'configMapGenerator:\n- name: g\n  files: [blob=data/big.bin]\n',
            'data/big.bin': big,
          },
          'configMapGenerator[0].files[0] "data/big.bin"',
        ],
        [
          'a patch',
          {
            'kustomization.yaml': 'resources: [cm.yaml]\npatches:\n- path: big.yaml\n',
            'cm.yaml': configMap('cm'),
            'big.yaml': big,
          },
          'patches[0].path "big.yaml"',
        ],
      ];
      for (const [what, files, field] of cases) {
        const root = await repo(files);
        await expect(renderManifests({ root, tools }), what).rejects.toThrow(
          `kustomization.yaml: ${field} is ${6 * MiB} bytes, over the ${5 * MiB}-byte per-file limit`,
        );
      }
    },
  );

  it(
    'kustomize output with a document over the per-file limit is stopped as it streams',
    { timeout: 60_000 },
    async () => {
      // Each file is under the limit; the generated ConfigMap holding both is not.
      const half = 'y'.repeat(3 * MiB);
      const root = await repo({
        'kustomization.yaml': 'configMapGenerator:\n- name: g\n  files: [a.txt, b.txt]\n',
        'a.txt': half,
        'b.txt': half,
      });
      await expect(renderManifests({ root, tools })).rejects.toThrow(
        /^kustomize build of \. printed document 1 of more than 5242880 bytes \(the per-file limit\); it was stopped$/,
      );
    },
  );

  it(
    'helm output over the per-document, document-count and total limits is stopped as it streams',
    { timeout: 60_000 },
    async () => {
      const one = await repo({
        ...chart,
        'flood/templates/one.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\ndata:\n  x: {{ repeat ${20 * MiB} "x" | quote }}\n`,
      });
      await expect(renderManifests({ root: one, path: 'flood', tools })).rejects.toThrow(
        /^helm template of flood printed document 1 of more than 5242880 bytes \(the per-file limit\); it was stopped$/,
      );
      const many = await repo({
        ...chart,
        'flood/templates/many.yaml':
          '{{- range $i := until 20000 }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{{ $i }}\n{{- end }}\n',
      });
      await expect(renderManifests({ root: many, path: 'flood', tools })).rejects.toThrow(
        /^helm template of flood printed more than 10000 YAML documents \(the document limit\); it was stopped$/,
      );
      await expect(
        renderManifests({
          root: many,
          path: 'flood',
          tools,
          limits: { maxDocuments: 100_000, maxTotalBytes: MiB },
        }),
      ).rejects.toThrow(
        /^helm template of flood printed more than 1048576 bytes \(the total limit\); it was stopped$/,
      );
    },
  );
});
