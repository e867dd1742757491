// `npm run generate`: writes crds/*.yaml and the Helm chart's copies from the zod schemas.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gitSourceCrdYaml, imagePolicyCrdYaml, notifierCrdYaml } from './crd.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CRD_FILES: Record<string, () => string> = {
  'gitsource.yaml': gitSourceCrdYaml,
  'notifier.yaml': notifierCrdYaml,
  'imagepolicy.yaml': imagePolicyCrdYaml,
};

for (const [file, generate] of Object.entries(CRD_FILES)) {
  const text = generate();
  for (const dir of ['crds', 'deploy/helm/converge/crds']) {
    const rel = `${dir}/${file}`;
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
    console.log(`wrote ${rel}`);
  }
}
