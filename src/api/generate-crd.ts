// `npm run generate`: writes crds/gitsource.yaml and the Helm chart's copy from the zod schemas.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gitSourceCrdYaml } from './crd.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CRD_PATHS = ['crds/gitsource.yaml', 'deploy/helm/converge/crds/gitsource.yaml'];

const text = gitSourceCrdYaml();
for (const rel of CRD_PATHS) {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), text);
  console.log(`wrote ${rel}`);
}
