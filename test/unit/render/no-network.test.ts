// Rendering makes no network request: every remote-reference form of kustomize and helm against a loopback canary that must see nothing.
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConvergeError } from '../../../src/api/index.ts';
import type { ClientTools } from '../../../src/render/index.ts';
import { runTool } from '../../../src/render/exec.ts';
import { renderManifests } from '../../../src/render/index.ts';
import { CLOSED_PROXY, toolEnv } from '../../../src/render/sandbox.ts';
import { clientTools, makeRepo } from './support.ts';

let tools: ClientTools;
let canary: Server;
let port: number;
/** Every TCP connection the canary saw (HTTP or not), and every HTTP request line. */
const connections: string[] = [];
const requests: string[] = [];

beforeAll(async () => {
  tools = await clientTools();
  canary = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.end('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fetched\ndata:\n  leaked: "yes"\n');
  });
  canary.on('connection', (s: Socket) => connections.push(`${s.remoteAddress}:${s.remotePort}`));
  await new Promise<void>((resolve) => canary.listen(0, '127.0.0.1', resolve));
  port = (canary.address() as AddressInfo).port;
}, 120_000);
afterAll(() => new Promise<void>((resolve) => canary.close(() => resolve())));

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function repo(files: Record<string, string>): Promise<string> {
  const r = await makeRepo(files);
  cleanups.push(r.cleanup);
  return r.root;
}

const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: "1"\n';

/**
 * Remote-reference forms from kustomize's documentation (kustomization fields, remote targets,
 * builtin plugin configs): [name, files with `@` standing for the canary's base URL, the file and field the error must name].
 */
type Case = [string, Record<string, string>, string, string];
const cases = (u: string, hostOnly: string): Case[] => [
  [
    'a resource file by URL',
    { 'kustomization.yaml': `resources:\n- ${u}/r.yaml\n` },
    'kustomization.yaml',
    'resources[0]',
  ],
  [
    'a remote base (git over HTTP, subdirectory and ref)',
    { 'kustomization.yaml': `resources:\n- ${u}/org/repo//base?ref=v1&timeout=5\n` },
    'kustomization.yaml',
    'resources[0]',
  ],
  [
    'a remote base in bases',
    { 'kustomization.yaml': `bases:\n- ${u}/org/repo.git\n` },
    'kustomization.yaml',
    'bases[0]',
  ],
  [
    'a remote component',
    { 'kustomization.yaml': `resources: [cm.yaml]\ncomponents:\n- ${u}/comp\n`, 'cm.yaml': cm },
    'kustomization.yaml',
    'components[0]',
  ],
  [
    'a git:: remote',
    { 'kustomization.yaml': `resources:\n- git::${u}/org/repo\n` },
    'kustomization.yaml',
    'resources[0]',
  ],
  [
    'an ssh:// remote',
    { 'kustomization.yaml': `resources:\n- ssh://git@${hostOnly}/org/repo\n` },
    'kustomization.yaml',
    'resources[0]',
  ],
  [
    'an scp-like remote',
    { 'kustomization.yaml': `resources:\n- git@${hostOnly.split(':')[0]}:org/repo\n` },
    'kustomization.yaml',
    'resources[0]',
  ],
  [
    'a file:// remote',
    { 'kustomization.yaml': 'resources:\n- file:///etc/repo//base\n' },
    'kustomization.yaml',
    'resources[0]',
  ],
  [
    'a gh: shorthand',
    { 'kustomization.yaml': 'resources:\n- gh:org/repo//base\n' },
    'kustomization.yaml',
    'resources[0]',
  ],
  [
    'a host/path remote without scheme',
    { 'kustomization.yaml': `resources:\n- ${hostOnly}/org/repo//base?ref=v1\n` },
    'kustomization.yaml',
    'resources[0]',
  ],
  [
    'an https URL',
    { 'kustomization.yaml': `resources:\n- ${u.replace('http:', 'https:')}/r.yaml\n` },
    'kustomization.yaml',
    'resources[0]',
  ],
  [
    'an upper-case scheme',
    { 'kustomization.yaml': `resources:\n- ${u.replace('http:', 'HTTP:')}/r.yaml\n` },
    'kustomization.yaml',
    'resources[0]',
  ],
  [
    'a patch path',
    { 'kustomization.yaml': `resources: [cm.yaml]\npatches:\n- path: ${u}/p.yaml\n`, 'cm.yaml': cm },
    'kustomization.yaml',
    'patches[0].path',
  ],
  [
    'a patchesStrategicMerge entry',
    {
      'kustomization.yaml': `resources: [cm.yaml]\npatchesStrategicMerge:\n- ${u}/psm.yaml\n`,
      'cm.yaml': cm,
    },
    'kustomization.yaml',
    'patchesStrategicMerge[0]',
  ],
  [
    'a patchesJson6902 path',
    {
      'kustomization.yaml': `resources: [cm.yaml]\npatchesJson6902:\n- target: {version: v1, kind: ConfigMap, name: cm}\n  path: ${u}/j.yaml\n`,
      'cm.yaml': cm,
    },
    'kustomization.yaml',
    'patchesJson6902[0].path',
  ],
  [
    'configMapGenerator files',
    { 'kustomization.yaml': `configMapGenerator:\n- name: g\n  files:\n  - ${u}/f.txt\n` },
    'kustomization.yaml',
    'configMapGenerator[0].files[0]',
  ],
  [
    'configMapGenerator files as key=URL',
    {
      'kustomization.yaml': `configMapGenerator:\n- name: g\n  files:\n  - a.txt\n  - key=${u}/f.txt\n`,
      'a.txt': 'a',
    },
    'kustomization.yaml',
    'configMapGenerator[0].files[1]',
  ],
  [
    'configMapGenerator envs',
    { 'kustomization.yaml': `configMapGenerator:\n- name: g\n  envs:\n  - ${u}/e.env\n` },
    'kustomization.yaml',
    'configMapGenerator[0].envs[0]',
  ],
  [
    'configMapGenerator env (singular)',
    { 'kustomization.yaml': `configMapGenerator:\n- name: g\n  env: ${u}/e.env\n` },
    'kustomization.yaml',
    'configMapGenerator[0].env',
  ],
  [
    'secretGenerator files',
    { 'kustomization.yaml': `secretGenerator:\n- name: s\n  files:\n  - ${u}/token\n` },
    'kustomization.yaml',
    'secretGenerator[0].files[0]',
  ],
  [
    'secretGenerator envs',
    { 'kustomization.yaml': `secretGenerator:\n- name: s\n  envs:\n  - ${u}/s.env\n` },
    'kustomization.yaml',
    'secretGenerator[0].envs[0]',
  ],
  [
    'configurations',
    { 'kustomization.yaml': `resources: [cm.yaml]\nconfigurations:\n- ${u}/c.yaml\n`, 'cm.yaml': cm },
    'kustomization.yaml',
    'configurations[0]',
  ],
  [
    'openapi.path',
    { 'kustomization.yaml': `resources: [cm.yaml]\nopenapi:\n  path: ${u}/o.json\n`, 'cm.yaml': cm },
    'kustomization.yaml',
    'openapi.path',
  ],
  [
    'crds',
    { 'kustomization.yaml': `resources: [cm.yaml]\ncrds:\n- ${u}/crd.json\n`, 'cm.yaml': cm },
    'kustomization.yaml',
    'crds[0]',
  ],
  [
    'a generator by URL',
    { 'kustomization.yaml': `generators:\n- ${u}/g.yaml\n` },
    'kustomization.yaml',
    'generators[0]',
  ],
  [
    'a transformer by URL',
    { 'kustomization.yaml': `resources: [cm.yaml]\ntransformers:\n- ${u}/t.yaml\n`, 'cm.yaml': cm },
    'kustomization.yaml',
    'transformers[0]',
  ],
  [
    'a validator by URL',
    { 'kustomization.yaml': `resources: [cm.yaml]\nvalidators:\n- ${u}/v.yaml\n`, 'cm.yaml': cm },
    'kustomization.yaml',
    'validators[0]',
  ],
  [
    'a replacements path',
    { 'kustomization.yaml': `resources: [cm.yaml]\nreplacements:\n- path: ${u}/r.yaml\n`, 'cm.yaml': cm },
    'kustomization.yaml',
    'replacements[0].path',
  ],
  [
    'a helmCharts repo',
    { 'kustomization.yaml': `helmCharts:\n- name: web\n  repo: ${u}/charts\n  version: 1.0.0\n` },
    'kustomization.yaml',
    'helmCharts[0].repo',
  ],
  [
    'a helmCharts values file by URL',
    { 'kustomization.yaml': `helmCharts:\n- name: web\n  valuesFile: ${u}/values.yaml\n` },
    'kustomization.yaml',
    'helmCharts[0].valuesFile',
  ],
  [
    'a PatchTransformer config file with a remote path',
    {
      'kustomization.yaml': 'resources: [cm.yaml]\ntransformers:\n- patch.yaml\n',
      'cm.yaml': cm,
      'patch.yaml': `apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: p\npath: ${u}/p.yaml\ntarget:\n  kind: ConfigMap\n`,
    },
    'patch.yaml',
    'path',
  ],
  [
    'a ConfigMapGenerator config file with remote files (second document)',
    {
      'kustomization.yaml': 'generators:\n- gen.yaml\n',
      'gen.yaml': `apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: ok\nliterals: [a=b]\n---\napiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: g\nfiles:\n- ${u}/f.txt\n`,
    },
    'gen.yaml',
    'files[0] (document 2)',
  ],
  [
    'an inline transformer with a remote path',
    {
      'kustomization.yaml': `resources: [cm.yaml]\ntransformers:\n- |-\n  apiVersion: builtin\n  kind: PatchJson6902Transformer\n  metadata:\n    name: j\n  target: {version: v1, kind: ConfigMap, name: cm}\n  path: ${u}/j.yaml\n`,
      'cm.yaml': cm,
    },
    'kustomization.yaml',
    'transformers[0].path',
  ],
  [
    'a remote reference in a local base, two levels down',
    {
      'kustomization.yaml': 'resources: [overlay]\n',
      'overlay/kustomization.yaml': 'resources: [../base]\n',
      'base/kustomization.yaml': `resources: [cm.yaml]\nconfigMapGenerator:\n- name: g\n  envs: [${u}/e.env]\n`,
      'base/cm.yaml': cm,
    },
    'base/kustomization.yaml',
    'configMapGenerator[0].envs[0]',
  ],
  [
    'a remote reference in a local component',
    {
      'kustomization.yaml': 'resources: [cm.yaml]\ncomponents: [comp]\n',
      'cm.yaml': cm,
      'comp/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n- path: ${u}/p.yaml\n`,
    },
    'comp/kustomization.yaml',
    'patches[0].path',
  ],
];

describe('no network during render', () => {
  for (const host of ['127.0.0.1', 'localhost']) {
    it(`refuses every remote-reference form to ${host}, naming the file and field, and the canary sees nothing`, async () => {
      const before = connections.length;
      const base = `http://${host}:${port}`;
      const all = cases(base, `${host}:${port}`);
      expect(all.length).toBeGreaterThanOrEqual(30);
      for (const [what, files, file, field] of all) {
        const root = await repo(files);
        const err = await renderManifests({ root, tools }).then(
          () => new Error('rendered'),
          (e: unknown) => e,
        );
        expect(err, what).toBeInstanceOf(ConvergeError);
        const e = err as ConvergeError;
        expect(e.reason, what).toBe('RenderFailed');
        expect(e.message, what).toMatch(
          new RegExp(
            `^${escape(file)}: ${escape(field)} ".*" is a remote reference \\(.+\\); rendering never uses the network`,
          ),
        );
      }
      expect(connections.slice(before)).toEqual([]);
      expect(requests).toEqual([]);
    });
  }

  it('keeps credentials in a remote URL out of the message', async () => {
    const root = await repo({
      'kustomization.yaml': `resources:\n- https://bot:s3cr3t-t0ken@127.0.0.1:${port}/r.yaml\n`,
    });
    const err = (await renderManifests({ root, tools }).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain('https://***@127.0.0.1');
    expect(err.message).not.toContain('s3cr3t');
  });

  it('does not mistake URLs in labels, annotations, literals or inline patches for references', async () => {
    const root = await repo({
      'kustomization.yaml': [
        'resources: [cm.yaml]',
        'commonAnnotations:',
        '  docs: https://wiki.example.com/app',
        'configMapGenerator:',
        '- name: g',
        '  literals: [ENDPOINT=https://api.example.com]',
        'patches:',
        '- patch: |-',
        '    - op: add',
        '      path: /data/url',
        '      value: http://127.0.0.1/never-fetched',
        '  target: {kind: ConfigMap, name: cm}',
        '',
      ].join('\n'),
      'cm.yaml': cm,
    });
    const objects = await renderManifests({ root, tools });
    expect(objects.map((o) => o.metadata.name).sort()).toEqual(['cm', expect.stringMatching(/^g-/)]);
    expect(requests).toEqual([]);
  });

  it('helm: chart dependencies by http, oci or file repository are never fetched', async () => {
    const before = connections.length;
    for (const repository of [
      `http://127.0.0.1:${port}/charts`,
      `oci://localhost:${port}/charts`,
      'file://../dep',
    ]) {
      const root = await repo({
        'web/Chart.yaml': `apiVersion: v2\nname: web\nversion: 0.1.0\ndependencies:\n- name: dep\n  version: 0.1.0\n  repository: ${repository}\n`,
        'web/templates/cm.yaml': cm,
        'dep/Chart.yaml': 'apiVersion: v2\nname: dep\nversion: 0.1.0\n',
        'dep/templates/cm.yaml': cm.replace('name: cm', 'name: dep'),
      });
      const err = (await renderManifests({ root, path: 'web', tools }).catch(
        (e: unknown) => e,
      )) as ConvergeError;
      expect(err.reason, repository).toBe('RenderFailed');
      expect(err.message, repository).toMatch(/helm template of web failed: .*dep/);
    }
    expect(connections.slice(before)).toEqual([]);
  });

  describe('what the tool environment alone does (static checks bypassed)', () => {
    async function kustomizeWith(kustomization: string, proxy: string): Promise<string> {
      const root = await repo({ 'kustomization.yaml': kustomization });
      const home = await mkdtemp(path.join(tmpdir(), 'converge-env-'));
      cleanups.push(() => rm(home, { recursive: true, force: true }));
      return runTool({
        command: tools.kubectl,
        args: ['kustomize', root],
        cwd: root,
        env: toolEnv(home, {}, proxy),
        timeoutMs: 30_000,
        maxOutputBytes: 1 << 20,
        what: 'kustomize build',
        redact: (t) => t,
      }).catch((e: Error) => `failed: ${e.message}`);
    }

    it('sends every non-loopback request to the proxy, so the closed proxy stops it', async () => {
      // The canary as the proxy: kustomize asks it for the remote file instead of the host.
      const before = requests.length;
      await kustomizeWith('resources:\n- http://canary.invalid/via-proxy.yaml\n', `http://127.0.0.1:${port}`);
      expect(requests.slice(before)).toEqual(['GET http://canary.invalid/via-proxy.yaml']);
      const out = await kustomizeWith('resources:\n- http://canary.invalid/blocked.yaml\n', CLOSED_PROXY);
      expect(out).toMatch(/^failed: .*(proxyconnect|connection refused)/);
      expect(requests.slice(before)).toHaveLength(1);
    });

    it('cannot run git: remote bases fail without a process to clone them', async () => {
      const before = connections.length;
      const out = await kustomizeWith(`resources:\n- ssh://git@127.0.0.1:${port}/org/repo\n`, CLOSED_PROXY);
      expect(out).toMatch(/^failed: .*git/);
      expect(connections.slice(before)).toEqual([]);
    });

    it('does not stop loopback URLs (Go never proxies them): that is what the static refusal is for', async () => {
      const before = requests.length;
      await kustomizeWith(`resources:\n- http://localhost:${port}/loopback.yaml\n`, CLOSED_PROXY);
      expect(requests.slice(before)).toEqual(['GET /loopback.yaml']);
      requests.splice(before);
    });
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
