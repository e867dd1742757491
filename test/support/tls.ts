// A throwaway certificate authority for tests (openssl): a server certificate for 127.0.0.1 and a
// client certificate, each signed by it.
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** openssl req arguments for a new unencrypted P-256 key. */
export const NEW_EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export interface KeyPair {
  key: string;
  cert: string;
}

export interface TestCa {
  /** PEM of the CA certificate (a Secret's ca.crt). */
  cert: string;
  server: KeyPair;
  client: KeyPair;
  /** Issues another certificate (`server`: with an IP SAN for 127.0.0.1). */
  issue(cn: string, server?: boolean): Promise<KeyPair>;
}

export async function makeTestCa(dir: string): Promise<TestCa> {
  await mkdir(dir, { recursive: true });
  const pem = (name: string) => join(dir, name);
  await run('openssl', [
    'req',
    '-x509',
    ...NEW_EC_KEY,
    '-keyout',
    pem('ca.key'),
    '-out',
    pem('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=test-ca',
  ]);
  const issue = async (cn: string, server = false): Promise<KeyPair> => {
    await run('openssl', [
      'req',
      '-new',
      ...NEW_EC_KEY,
      '-keyout',
      pem(`${cn}.key`),
      '-out',
      pem(`${cn}.csr`),
      '-subj',
      `/CN=${cn}`,
    ]);
    await writeFile(
      pem(`${cn}.ext`),
      server ? 'subjectAltName=IP:127.0.0.1\n' : 'extendedKeyUsage=clientAuth\n',
    );
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      pem(`${cn}.csr`),
      '-CA',
      pem('ca.crt'),
      '-CAkey',
      pem('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      pem(`${cn}.ext`),
      '-out',
      pem(`${cn}.crt`),
    ]);
    return { key: await readFile(pem(`${cn}.key`), 'utf8'), cert: await readFile(pem(`${cn}.crt`), 'utf8') };
  };
  return {
    cert: await readFile(pem('ca.crt'), 'utf8'),
    server: await issue('server', true),
    client: await issue('client'),
    issue,
  };
}
