// SOPS decryption against files the real sops encrypted (age keys from Debian's age, OpenPGP keys from gnupg):
// a round trip per format and per crypt option, the MAC and value checks, and the refusals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as yaml from 'js-yaml';
import {
  addAgeKeys,
  addPgpKeys,
  emptyKeyring,
  keyringFromSecret,
  newDecryption,
  type Decryption,
  type Keyring,
} from '../../../src/render/index.ts';
import { decryptSops, plaintextFile, type SopsFormat } from '../../../src/render/decrypt/index.ts';
import { toPlain } from '../../../src/render/decrypt/tree.ts';
import {
  ageKey,
  pgpKey,
  removePgpHome,
  sopsBinary,
  sopsDecrypt,
  sopsEncrypt,
  type AgeKey,
  type PgpKey,
} from '../../support/sops.ts';

let age: AgeKey;
let other: AgeKey;
let pgp: PgpKey;
let ring: Keyring;

beforeAll(async () => {
  await sopsBinary();
  [age, other, pgp] = await Promise.all([ageKey(), ageKey(), pgpKey()]);
  ring = emptyKeyring('test keys');
  await addAgeKeys(ring, age.identity, 'age key');
}, 900_000);

afterAll(async () => {
  if (pgp) await removePgpHome(pgp);
});

const keys = (r: Keyring = ring): Decryption => newDecryption(r, '');

const SECRET = `apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: apps
  labels:
    app: web
    tier: "1"
type: Opaque
stringData:
  password: correct-horse-battery
  port: 5432
  ratio: 1.5
  enabled: true
  hosts:
    - primary.db.internal
    - replica.db.internal
  nested:
    token_unencrypted: visible-token
    api_key: sk-live-123456
`;

describe('a round trip per format: sops --encrypt, Converge decrypts what sops --decrypt gives', () => {
  const cases: Array<{ name: string; format: SopsFormat; plain: string | Buffer; args?: string[] }> = [
    { name: 'secret.yaml', format: 'yaml', plain: SECRET },
    {
      name: 'config.json',
      format: 'json',
      // Integer-like keys out of order and an integer past 2^53: order and digits must hold for the MAC.
      plain:
        '{"user": "admin", "password": "json-pass-42", "limits": {"2": "b", "1": 1e3}, "big": 12345678901234567890, "list": [true, null, 2.5]}',
    },
    {
      name: 'app.env',
      format: 'dotenv',
      plain: 'DB_USER=admin\nDB_PASS=dotenv-pass-7\n# a comment\nMULTI=line1\\nline2\n',
    },
    {
      name: 'app.ini',
      format: 'ini',
      plain: '[database]\nuser = admin\npassword = ini-pass-9\n\n[cache]\nttl = 30\n',
    },
    {
      name: 'blob.bin',
      format: 'binary',
      plain: Buffer.concat([Buffer.from('binary-secret-'), Buffer.from([0, 255, 254, 10, 13, 128])]),
    },
  ];
  for (const c of cases) {
    it(c.format, async () => {
      const enc = await sopsEncrypt(c.name, c.plain, ['--age', age.recipient, ...(c.args ?? [])]);
      expect(enc).toContain('ENC[AES256_GCM');
      const d = keys();
      const file = await decryptSops(enc, c.format, c.name, d);
      const ours = plaintextFile(file);
      const theirs = await sopsDecrypt(c.name, enc, age);
      if (c.format === 'binary') {
        expect(ours.equals(c.plain as Buffer)).toBe(true);
        expect(ours.equals(theirs)).toBe(true);
      } else if (c.format === 'yaml') {
        expect(yaml.load(ours.toString())).toEqual(yaml.load(theirs.toString()));
        expect(yaml.load(ours.toString())).toEqual(yaml.load(SECRET));
      } else if (c.format === 'json') {
        expect(JSON.parse(ours.toString())).toEqual(JSON.parse(theirs.toString()));
      } else {
        // dotenv and INI: the same keys and values (sops keeps comments; Converge drops them).
        const pairs = (t: string) =>
          t
            .split('\n')
            .filter((l) => /^[^#;[].*=/.test(l))
            .map((l) => l.split('=').map((x) => x.trim()));
        expect(pairs(ours.toString())).toEqual(pairs(theirs.toString()));
      }
      expect(d.plaintexts.size).toBeGreaterThan(0);
    });
  }
});

describe('the crypt options sops records in the file are honoured', () => {
  const plain = yaml.load(SECRET);
  const options: Array<[string, string[], (enc: string) => void]> = [
    [
      'encrypted_regex',
      ['--encrypted-regex', '^(data|stringData)$'],
      (enc) => expect(enc).toContain('name: db'),
    ],
    [
      'unencrypted_regex',
      ['--unencrypted-regex', '^(apiVersion|kind|metadata|type)$'],
      (enc) => expect(enc).toContain('kind: Secret'),
    ],
    [
      'encrypted_suffix',
      ['--encrypted-suffix', '_key'],
      (enc) => expect(enc).toContain('correct-horse-battery'),
    ],
    [
      'unencrypted_suffix',
      ['--unencrypted-suffix', '_unencrypted'],
      (enc) => expect(enc).toContain('visible-token'),
    ],
    [
      'mac_only_encrypted',
      ['--encrypted-regex', '^stringData$', '--mac-only-encrypted'],
      (enc) => expect(enc).toContain('mac_only_encrypted: true'),
    ],
  ];
  for (const [option, args, check] of options) {
    it(option, async () => {
      const enc = await sopsEncrypt('secret.yaml', SECRET, ['--age', age.recipient, ...args]);
      check(enc);
      expect(enc).toContain(option);
      const file = await decryptSops(enc, 'yaml', 'secret.yaml', keys());
      expect(toPlain(file.branches[0]!)).toEqual(plain);
    });
  }

  it('mac_only_encrypted: an unencrypted value may change, an encrypted one may not', async () => {
    const enc = await sopsEncrypt('secret.yaml', SECRET, [
      '--age',
      age.recipient,
      '--encrypted-regex',
      '^stringData$',
      '--mac-only-encrypted',
    ]);
    const relabelled = enc.replace('app: web', 'app: other');
    const file = await decryptSops(relabelled, 'yaml', 'secret.yaml', keys());
    expect((toPlain(file.branches[0]!) as { metadata: { labels: object } }).metadata.labels).toEqual({
      app: 'other',
      tier: '1',
    });
    // Without the option, the same edit breaks the MAC.
    const strict = await sopsEncrypt('secret.yaml', SECRET, [
      '--age',
      age.recipient,
      '--encrypted-regex',
      '^stringData$',
    ]);
    await expect(
      decryptSops(strict.replace('app: web', 'app: other'), 'yaml', 'secret.yaml', keys()),
    ).rejects.toThrow(/secret\.yaml: tampered: the MAC does not match/);
  });
});

describe('keys', () => {
  it('OpenPGP: a key exported from gnupg decrypts a file sops encrypted for its fingerprint', async () => {
    const enc = await sopsEncrypt('secret.yaml', SECRET, ['--pgp', pgp.fingerprint], { GNUPGHOME: pgp.home });
    expect(enc).toContain(pgp.fingerprint);
    const r = emptyKeyring('pgp keys');
    await addPgpKeys(r, pgp.armored, 'key.asc');
    const file = await decryptSops(enc, 'yaml', 'secret.yaml', keys(r));
    expect(toPlain(file.branches[0]!)).toEqual(yaml.load(SECRET));
  });

  it('any one of several recipients is enough', async () => {
    const enc = await sopsEncrypt('secret.yaml', SECRET, ['--age', `${other.recipient},${age.recipient}`]);
    const file = await decryptSops(enc, 'yaml', 'secret.yaml', keys());
    expect(toPlain(file.branches[0]!)).toEqual(yaml.load(SECRET));
  });

  it('no matching key: the recipients the file was encrypted for are named, and the keys at hand', async () => {
    const enc = await sopsEncrypt(
      'secret.yaml',
      SECRET,
      ['--age', other.recipient, '--pgp', pgp.fingerprint],
      { GNUPGHOME: pgp.home },
    );
    const err = await decryptSops(enc, 'yaml', 'clusters/prod/secret.yaml', keys()).catch((e: Error) => e);
    expect(err).toMatchObject({ reason: 'DecryptionFailed' });
    const message = (err as Error).message;
    expect(message).toContain('clusters/prod/secret.yaml: no key matches');
    expect(message).toContain(other.recipient);
    expect(message).toContain(`PGP ${pgp.fingerprint}`);
    expect(message).toContain(age.recipient); // what the keyring holds
    expect(message).not.toContain('AGE-SECRET-KEY');
  });

  it('KMS or Vault only: "key type not supported", naming the kind', async () => {
    const enc = await sopsEncrypt('secret.yaml', SECRET, ['--age', age.recipient]);
    // As sops writes an AWS KMS key group; Converge never calls a cloud.
    const kmsOnly = enc.replace(
      / {4}age:\n( {8}.*\n| {10}.*\n)*?(?= {4}[a-z])/,
      '    kms:\n        - arn: arn:aws:kms:us-east-1:111122223333:key/abcd\n          created_at: "2024-01-01T00:00:00Z"\n          enc: AQICAHh\n          aws_profile: ""\n',
    );
    expect(kmsOnly).not.toContain('age1');
    await expect(decryptSops(kmsOnly, 'yaml', 'secret.yaml', keys())).rejects.toThrow(
      'secret.yaml: key type not supported: encrypted only for aws kms',
    );
  });

  it('key groups with a Shamir threshold: shares from two groups make the data key', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'converge-sops-config-'));
    try {
      const config = join(dir, '.sops.yaml');
      await writeFile(
        config,
        `creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [${age.recipient}]\n      - age: [${other.recipient}]\n`,
      );
      const enc = await sopsEncrypt('secret.yaml', SECRET, ['--config', config]);
      expect(enc).toContain('key_groups');
      const both = emptyKeyring('both keys');
      await addAgeKeys(both, age.identity + other.identity, 'keys.txt');
      const file = await decryptSops(enc, 'yaml', 'secret.yaml', keys(both));
      expect(toPlain(file.branches[0]!)).toEqual(yaml.load(SECRET));
      await expect(decryptSops(enc, 'yaml', 'secret.yaml', keys())).rejects.toThrow(
        'secret.yaml: no key matches (1 of the 2 key groups needed)',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a key Secret: *.agekey and *.asc entries are read, others ignored; none, or a bad line, is refused by name', async () => {
    const r = await keyringFromSecret(
      {
        'identity.agekey': Buffer.from(age.identity),
        'ops.asc': Buffer.from(pgp.armored),
        'sops.vault-token': Buffer.from('ignored'),
      },
      'apps/sops-keys',
    );
    expect(r.age.map((a) => a.recipient)).toEqual([age.recipient]);
    expect(r.pgp[0]!.fingerprints[0]).toBe(pgp.fingerprint);
    await expect(keyringFromSecret({ token: Buffer.from('x') }, 'apps/sops-keys')).rejects.toThrow(
      'secret apps/sops-keys holds no key: name its entries *.agekey (age identities) or *.asc (OpenPGP private keys)',
    );
    const err = await keyringFromSecret(
      { 'a.agekey': Buffer.from('# c\nAGE-SECRET-KEY-1NOPE\n') },
      'apps/k',
    ).catch((e: Error) => e.message);
    expect(err).toBe('secret apps/k key a.agekey: line 2 is not a valid age identity');
  });

  it('no keys at all: the file is named as encrypted and left undecrypted', async () => {
    const enc = await sopsEncrypt('secret.yaml', SECRET, ['--age', age.recipient]);
    const d = newDecryption(undefined, 'the GitSource sets no spec.decryption');
    await decryptSops(enc, 'yaml', 'a/secret.yaml', d);
    expect(d.undecrypted).toEqual(['a/secret.yaml']);
    expect(d.plaintexts.size).toBe(0);
  });
});

describe('tampering is refused', () => {
  let enc: string;
  beforeAll(async () => {
    enc = await sopsEncrypt('secret.yaml', SECRET, [
      '--age',
      age.recipient,
      '--encrypted-regex',
      '^stringData$',
    ]);
  });
  const encOf = (text: string, key: string) =>
    new RegExp(`^( *)${key}: (ENC\\[[^\\]]+\\])$`, 'm').exec(text)![2]!;

  it('two values swapped: the path is part of each value, so neither authenticates', async () => {
    const a = encOf(enc, 'password');
    const b = encOf(enc, 'api_key');
    const swapped = enc.replace(a, 'A_PLACEHOLDER').replace(b, a).replace('A_PLACEHOLDER', b);
    await expect(decryptSops(swapped, 'yaml', 'secret.yaml', keys())).rejects.toThrow(
      /secret\.yaml: tampered: a value does not authenticate .* at stringData\.password/,
    );
  });

  it('a value removed', async () => {
    const removed = enc.replace(/^ +port: ENC\[[^\]]+\]\n/m, '');
    await expect(decryptSops(removed, 'yaml', 'secret.yaml', keys())).rejects.toThrow(
      'tampered: the MAC does not match',
    );
  });

  it('two keys reordered', async () => {
    const lines = enc.split('\n');
    const i = lines.findIndex((l) => l.includes('password: ENC'));
    const j = lines.findIndex((l) => l.includes('port: ENC'));
    [lines[i], lines[j]] = [lines[j]!, lines[i]!];
    await expect(decryptSops(lines.join('\n'), 'yaml', 'secret.yaml', keys())).rejects.toThrow(
      'tampered: the MAC does not match',
    );
  });

  it('an unencrypted value edited, and lastmodified changed', async () => {
    await expect(
      decryptSops(enc.replace('name: db', 'name: other'), 'yaml', 'secret.yaml', keys()),
    ).rejects.toThrow('tampered: the MAC does not match');
    const redated = enc.replace(/lastmodified: "([0-9-]+)T/, 'lastmodified: "2001-01-01T');
    await expect(decryptSops(redated, 'yaml', 'secret.yaml', keys())).rejects.toThrow(
      'tampered: the MAC does not authenticate',
    );
  });

  it('a value of another file with the same key', async () => {
    const second = await sopsEncrypt('secret.yaml', SECRET, [
      '--age',
      age.recipient,
      '--encrypted-regex',
      '^stringData$',
    ]);
    const mixed = enc.replace(encOf(enc, 'password'), encOf(second, 'password'));
    await expect(decryptSops(mixed, 'yaml', 'secret.yaml', keys())).rejects.toThrow(
      'tampered: a value does not authenticate',
    );
  });

  it('no error message holds a plaintext value', async () => {
    const errors = await Promise.all(
      [enc.replace('name: db', 'name: x'), enc.replace(/^ +port: ENC\[[^\]]+\]\n/m, '')].map((t) =>
        decryptSops(t, 'yaml', 'secret.yaml', keys()).catch((e: Error) => e.message),
      ),
    );
    for (const m of errors)
      for (const secret of ['correct-horse-battery', 'sk-live-123456', '5432'])
        expect(m).not.toContain(secret);
  });
});
