// Temp checkouts for render tests, and the real kubectl/helm binaries.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { resolveClientTools, type ClientTools } from '../../../src/render/index.ts';

let tools: Promise<ClientTools> | undefined;

/** The bundled kubectl (with kustomize) and helm, extracted once; never a host copy on PATH. */
export function clientTools(): Promise<ClientTools> {
  tools ??= resolveClientTools({ searchPath: false });
  return tools;
}

/** A fresh directory holding `files` (path → content); removed by the returned cleanup. */
export async function makeRepo(
  files: Record<string, string>,
): Promise<{ root: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(path.join(tmpdir(), 'converge-render-'));
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(root, rel);
    await mkdir(path.dirname(abs), { recursive: true });
    await writeFile(abs, content);
  }
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

export function configMap(name: string, extra = ''): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${extra}`;
}
