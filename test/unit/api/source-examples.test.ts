// examples/oci and examples/s3: every GitSource there is valid against the schema the CRD is made from,
// names its source kind by URL, and its Secrets hold the keys that kind reads.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { GitSourceSpecSchema } from '../../../src/api/index.ts';
import { keysFromSecret, registryCredentialsFromSecret } from '../../../src/source/oci/index.ts';
import { sourceOf } from '../../../src/source/index.ts';
import { s3CredentialsFromSecret } from '../../../src/source/s3/index.ts';

const root = join(import.meta.dirname, '..', '..', '..', 'examples');
type Doc = { kind: string; metadata: { name: string }; spec?: unknown; stringData?: Record<string, string> };
const docs = (file: string) => yaml.loadAll(readFileSync(join(root, file), 'utf8')) as Doc[];
const secretData = (d: Doc) =>
  Object.fromEntries(Object.entries(d.stringData ?? {}).map(([k, v]) => [k, Buffer.from(v)]));

describe('source examples', () => {
  it('examples/oci/gitsource.yaml: an OCI artifact with a pull Secret and cosign keys', () => {
    const [gs, pull, pub] = docs('oci/gitsource.yaml');
    const spec = GitSourceSpecSchema.parse(gs!.spec);
    expect(sourceOf(spec)).toMatchObject({ kind: 'oci', ref: { semver: '>=1.0.0 <2.0.0' } });
    expect(
      registryCredentialsFromSecret(secretData(pull!), 'registry.example.com', 'registry-pull'),
    ).toMatchObject({
      kind: 'basic',
      username: 'ci-reader',
    });
    expect(keysFromSecret(secretData(pub!), 'cosign-pub').map((k) => k.name)).toEqual(['cosign.pub']);
  });

  it('examples/s3/gitsource.yaml: a bucket with its endpoint and keys', () => {
    const [gs, creds] = docs('s3/gitsource.yaml');
    const spec = GitSourceSpecSchema.parse(gs!.spec);
    expect(sourceOf(spec)).toMatchObject({
      kind: 'bucket',
      url: 's3://fleet-config/prod',
      s3: { region: 'eu-west-1' },
    });
    expect(s3CredentialsFromSecret({ where: 'default/s3-creds', data: secretData(creds!) })).toMatchObject({
      accessKeyId: 'AKIAEXAMPLE',
    });
  });
});
