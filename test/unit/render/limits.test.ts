import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { renderManifests } from '../../../src/render/index.ts';
import { clientTools, configMap, makeRepo } from './support.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function repo(files: Record<string, string>): Promise<string> {
  const r = await makeRepo(files);
  cleanups.push(r.cleanup);
  return r.root;
}

/** A directory outside every checkout, holding a valid manifest the repo must not be able to read. */
async function outside(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'converge-outside-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'secret.yaml'), configMap('stolen'));
  return dir;
}

function billionLaughs(): string {
  let doc = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\nl0: &l0 "lol"\n';
  for (let i = 1; i <= 9; i++)
    doc += `l${i}: &l${i} [${Array(9)
      .fill(`*l${i - 1}`)
      .join(', ')}]\n`;
  return doc + 'data: {x: *l9}\n';
}

const tools = { kubectl: '/nonexistent/kubectl', helm: '/nonexistent/helm' };

describe('paths stay inside the checkout', () => {
  it('rejects .. and absolute paths', async () => {
    const root = await repo({ 'a/x.yaml': configMap('x') });
    for (const p of ['..', '../x', 'a/../../etc', 'a/..', '/etc', path.join(root, 'a')]) {
      await expect(renderManifests({ root, path: p, tools })).rejects.toThrow(
        `path "${p}" must be relative and stay inside the repository`,
      );
    }
    await expect(renderManifests({ root, path: 'missing', tools })).rejects.toThrow(
      'path "missing" does not exist',
    );
  });

  it('rejects a path that is a symlink leading outside', async () => {
    const root = await repo({});
    await symlink(await outside(), path.join(root, 'apps'));
    await expect(renderManifests({ root, path: 'apps', tools })).rejects.toThrow(
      'path "apps" resolves outside the repository',
    );
  });

  it('rejects a manifest file symlinked to outside the checkout', async () => {
    const root = await repo({ 'ok.yaml': configMap('ok') });
    await symlink(path.join(await outside(), 'secret.yaml'), path.join(root, 'evil.yaml'));
    await expect(renderManifests({ root, tools })).rejects.toThrow(
      'evil.yaml: symlink resolves outside the repository',
    );
  });

  it('rejects a directory symlinked to outside the checkout', async () => {
    const root = await repo({ 'apps/ok.yaml': configMap('ok') });
    await symlink(await outside(), path.join(root, 'apps', 'shared'));
    await expect(renderManifests({ root, path: 'apps', tools })).rejects.toThrow(
      'apps/shared: symlink resolves outside the repository',
    );
  });

  it('follows symlinks that stay inside, once, without looping', async () => {
    const root = await repo({ 'common/cm.yaml': configMap('common'), 'apps/own.yaml': configMap('own') });
    await symlink('../common', path.join(root, 'apps', 'common'));
    await symlink('..', path.join(root, 'apps', 'loop'));
    await symlink('../common/cm.yaml', path.join(root, 'apps', 'linked.yaml'));
    await symlink('nowhere.yaml', path.join(root, 'apps', 'notes.txt')); // unused, not resolved
    const objs = await renderManifests({ root, path: 'apps', tools, exclude: ['linked.yaml'] });
    expect(objs.map((o) => o.metadata.name)).toEqual(['common', 'own']);
    // Reading the same file twice through two links is a duplicate, not a silent merge.
    await expect(renderManifests({ root, path: 'apps', tools })).rejects.toThrow(
      'ConfigMap/common is defined twice',
    );
  });

  it('rejects a dangling manifest symlink with its name', async () => {
    const root = await repo({});
    await symlink('gone.yaml', path.join(root, 'x.yaml'));
    await expect(renderManifests({ root, tools })).rejects.toThrow('x.yaml: symlink target does not exist');
  });
});

describe('size and expansion bounds', () => {
  it('rejects a billion-laughs document fast, naming the file', async () => {
    const root = await repo({ 'ok.yaml': configMap('ok'), 'bomb/lol.yaml': billionLaughs() });
    const started = performance.now();
    const err = await renderManifests({ root, tools }).catch((e: Error) => e);
    const elapsed = performance.now() - started;
    expect(err).toMatchObject({ reason: 'RenderFailed' });
    expect((err as Error).message).toMatch(
      /^bomb\/lol\.yaml \(document 1\): expands to more than \d+ nodes and characters through YAML aliases$/,
    );
    expect(elapsed).toBeLessThan(1000);
  });

  it('bounds the number of aliases per document', async () => {
    const many = `${configMap('a')}anchor: &a x\nlist: [${Array(50).fill('*a').join(', ')}]\n`;
    const root = await repo({ 'many.yaml': many });
    await expect(renderManifests({ root, tools, limits: { maxAliases: 10 } })).rejects.toThrow(
      /^many\.yaml: invalid YAML at line 6, column \d+: .*alias/,
    );
    expect(await renderManifests({ root, tools })).toHaveLength(1);
  });

  it('rejects an oversized file before reading it', async () => {
    const big = `${configMap('big')}data:\n  blob: "${'x'.repeat(6 * 1024 * 1024)}"\n`;
    const root = await repo({ 'small.yaml': configMap('small'), 'big.yaml': big });
    await expect(renderManifests({ root, tools })).rejects.toThrow(
      `big.yaml: file is ${Buffer.byteLength(big)} bytes, over the 5242880-byte limit`,
    );
  });

  it('bounds total bytes, files and documents', async () => {
    const root = await repo({
      'a.yaml': configMap('a'),
      'b.yaml': `${configMap('b')}---\n${configMap('c')}`,
    });
    await expect(renderManifests({ root, tools, limits: { maxTotalBytes: 60 } })).rejects.toThrow(
      'manifests exceed 60 bytes in total (at b.yaml)',
    );
    await expect(renderManifests({ root, tools, limits: { maxFiles: 1 } })).rejects.toThrow(
      'more than 1 manifest files (at b.yaml)',
    );
    await expect(renderManifests({ root, tools, limits: { maxDocuments: 2 } })).rejects.toThrow(
      'more than 2 YAML documents (at b.yaml, document 2)',
    );
  });

  it('stops when the signal is aborted', async () => {
    const root = await repo({ 'a.yaml': configMap('a') });
    const controller = new AbortController();
    controller.abort(new Error('new revision'));
    await expect(renderManifests({ root, tools, signal: controller.signal })).rejects.toThrow('new revision');
  });
});

describe('tool processes', () => {
  it('kills a kustomize build that outlives its timeout', async () => {
    // A fake "kubectl" that hangs stands in for a pathological build.
    const bin = await mkdtemp(path.join(tmpdir(), 'converge-fake-'));
    cleanups.push(() => rm(bin, { recursive: true, force: true }));
    await writeFile(path.join(bin, 'kubectl'), '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
    const root = await repo({ 'kustomization.yaml': 'resources: []\n' });
    const started = performance.now();
    await expect(
      renderManifests({
        root,
        tools: { ...tools, kubectl: path.join(bin, 'kubectl') },
        limits: { toolTimeoutMs: 300 },
      }),
    ).rejects.toThrow('kustomize build of . timed out after 300ms');
    expect(performance.now() - started).toBeLessThan(3000);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('cancelled by new revision')), 200);
    await expect(
      renderManifests({
        root,
        tools: { ...tools, kubectl: path.join(bin, 'kubectl') },
        signal: controller.signal,
      }),
    ).rejects.toThrow('cancelled by new revision');
  });

  it('uses the real kubectl for a kustomize build that reaches outside', async () => {
    const real = await clientTools();
    const out = await outside();
    await mkdir(path.join(out, 'base'));
    await writeFile(path.join(out, 'base', 'kustomization.yaml'), 'resources: [../secret.yaml]\n');
    const root = await repo({
      'app/kustomization.yaml': `resources:\n- ${path.relative(path.join('/', 'x', 'app'), '/')}\n`,
    });
    // A relative resource directory that climbs out of the checkout.
    const rel = path.relative(path.join(root, 'app'), path.join(out, 'base'));
    await writeFile(path.join(root, 'app', 'kustomization.yaml'), `resources:\n- ${rel}\n`);
    await expect(renderManifests({ root, path: 'app', tools: real })).rejects.toThrow(
      `app/kustomization.yaml: resources entry "${rel}" resolves outside the repository`,
    );
  });
});
