// An exec plugin that logs in with a client certificate (Teleport's `tsh`, some OIDC helpers) rather
// than a token: the client presents that certificate, and a new one from a later run of the plugin.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient, loadClusterAccess } from '../../../src/kube/index.ts';

const run = promisify(execFile);
const d = mkdtempSync(join(tmpdir(), 'exec-cert-'));
const pem = (name: string) => join(d, name);
let server: Server;
let port = 0;
/** The subject CN of the client certificate each request came with. */
const seen: string[] = [];

/** openssl req arguments for a new unencrypted P-256 key. */
const NEW_EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A key and a certificate for `cn` signed by the test CA (a server one with an IP SAN). */
async function issue(cn: string, server = false) {
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
  writeFileSync(pem(`${cn}.ext`), server ? 'subjectAltName=IP:127.0.0.1\n' : 'extendedKeyUsage=clientAuth\n');
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
}

beforeAll(async () => {
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
  await Promise.all([issue('127.0.0.1', true), issue('alice'), issue('bob')]);
  // Like an API server with --client-ca-file: no certificate from that CA, no TLS session.
  server = createServer(
    {
      key: readFileSync(pem('127.0.0.1.key')),
      cert: readFileSync(pem('127.0.0.1.crt')),
      ca: readFileSync(pem('ca.crt')),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      seen.push(String((req.socket as TLSSocket).getPeerCertificate().subject.CN));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'NamespaceList', apiVersion: 'v1', metadata: {}, items: [] }));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(() => {
  server?.close();
});

describe('exec plugin with a client certificate', () => {
  it('presents the certificate the plugin returns, and the new one after it changes', async () => {
    // The plugin answers with whichever user `current` names; the credential is already expired, so
    // each auth refresh runs it again.
    writeFileSync(pem('current'), 'alice');
    const plugin = join(d, 'login.sh');
    writeFileSync(
      plugin,
      `#!/bin/sh
who=$(cat ${pem('current')})
node -e 'const fs = require("fs"); const [crt, key] = process.argv.slice(1).map((f) => fs.readFileSync(f, "utf8"));
console.log(JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential",
  status: { clientCertificateData: crt, clientKeyData: key, expirationTimestamp: "2000-01-01T00:00:00Z" } }))' ${d}/$who.crt ${d}/$who.key
`,
      { mode: 0o755 },
    );
    const config = join(d, 'config');
    writeFileSync(
      config,
      JSON.stringify({
        'current-context': 'tsh',
        clusters: [
          {
            name: 'c',
            cluster: {
              server: `https://127.0.0.1:${port}`,
              'certificate-authority-data': readFileSync(pem('ca.crt')).toString('base64'),
            },
          },
        ],
        users: [
          {
            name: 'u',
            user: {
              exec: {
                apiVersion: 'client.authentication.k8s.io/v1',
                command: plugin,
                interactiveMode: 'Never',
                env: [{ name: 'PATH', value: process.env.PATH ?? '' }],
              },
            },
          },
        ],
        contexts: [{ name: 'tsh', context: { cluster: 'c', user: 'u' } }],
      }),
    );
    const client = await KubeClient.connect(loadClusterAccess({ path: config, env: {} }), {
      authRefreshMs: 0,
    });
    try {
      await client.request('GET', '/api/v1/namespaces');
      expect(seen).toEqual(['alice']);
      writeFileSync(pem('current'), 'bob');
      await client.request('GET', '/api/v1/namespaces');
      await client.request('GET', '/api/v1/namespaces');
      expect(seen).toEqual(['alice', 'bob', 'bob']);
    } finally {
      client.close();
    }
  }, 30_000);
});
