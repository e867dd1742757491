// Renders a local chart with `helm template`: no network, no user Helm config, values from a temp file.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runTool } from './exec.ts';
import { scrubSecrets, toolEnv } from './sandbox.ts';
import type { RenderLimits } from './limits.ts';
import { assertNoEscapingLinks, type Checkout } from './paths.ts';

export interface HelmOptions {
  releaseName: string;
  namespace: string;
  values?: Record<string, unknown>;
  /** spec.helm.valuesFiles, relative to the chart directory, in order (spec.helm.values wins over them). */
  valuesFiles?: string[];
  /** For `.Capabilities.KubeVersion`, e.g. `v1.34.0`; helm's built-in default otherwise. */
  kubeVersion?: string;
  /** For `.Capabilities.APIVersions`, e.g. from discovery: `monitoring.coreos.com/v1`. */
  apiVersions?: string[];
}

/** A values file for helm: a path in the checkout, or decrypted content written to helm's private home. */
export type ValuesFile = { file: string } | { content: Buffer };

export async function helmTemplate(
  checkout: Checkout,
  dir: string,
  helm: string,
  opts: HelmOptions,
  limits: RenderLimits,
  signal?: AbortSignal,
  extra: { valuesFiles?: ValuesFile[]; secrets?: ReadonlySet<string> } = {},
): Promise<string> {
  await assertNoEscapingLinks(checkout, dir, signal);
  const home = await mkdtemp(path.join(tmpdir(), 'converge-helm-'));
  try {
    const valuesArgs: string[] = [];
    for (const [i, values] of (extra.valuesFiles ?? []).entries()) {
      if ('file' in values) {
        valuesArgs.push('--values', values.file);
      } else {
        // Decrypted values live only in this private home, removed with it.
        const file = path.join(home, `values-${i}.yaml`);
        await writeFile(file, values.content, { mode: 0o600 });
        valuesArgs.push('--values', file);
      }
    }
    const valuesFile = path.join(home, 'values.json');
    // JSON is YAML; a file keeps values (which may hold secrets) out of argv.
    await writeFile(valuesFile, JSON.stringify(opts.values ?? {}), { mode: 0o600 });
    const args = [
      'template',
      opts.releaseName,
      dir,
      '--namespace',
      opts.namespace,
      ...valuesArgs,
      '--values',
      valuesFile,
      // CRDs from crds/ belong to the desired state, as with Flux's default CRD policy.
      '--include-crds',
      '--skip-tests',
    ];
    if (opts.kubeVersion) args.push('--kube-version', opts.kubeVersion);
    for (const v of opts.apiVersions ?? []) args.push('--api-versions', v);
    return await runTool({
      command: helm,
      args,
      cwd: dir,
      // Fresh Helm homes: no repositories, registry logins, plugins or kubeconfig of the host are read.
      // No network either: `helm template` of a local chart needs none (dependencies must be in charts/).
      env: toolEnv(home, {
        HELM_CACHE_HOME: path.join(home, 'cache'),
        HELM_CONFIG_HOME: path.join(home, 'config'),
        HELM_DATA_HOME: path.join(home, 'data'),
        HELM_PLUGINS: path.join(home, 'plugins'),
        HELM_NO_PLUGINS: '1',
      }),
      timeoutMs: limits.toolTimeoutMs,
      maxOutputBytes: limits.maxTotalBytes,
      maxDocumentBytes: limits.maxFileBytes,
      maxDocuments: limits.maxDocuments,
      signal,
      what: `helm template of ${checkout.display(dir)}`,
      redact: (text) =>
        scrubSecrets(
          text
            .replaceAll(home + path.sep, '')
            .replaceAll(checkout.root + path.sep, '')
            .replaceAll(checkout.root, '.')
            .replaceAll(valuesFile, 'values'),
          extra.secrets,
        ),
    });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}
