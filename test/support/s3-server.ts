// A real S3-compatible server for tests: versitygw (built once by scripts/go-tool.sh, as setup.sh does)
// with its posix backend in a temp dir, on a free loopback port; killed on close() and on exit.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createS3Client, type S3Client } from '../../src/source/s3/index.ts';
import { freePort } from './git-server.ts';

export const VERSITYGW = {
  name: 'versitygw',
  pkg: 'github.com/versity/versitygw/cmd/versitygw',
  version: '1.8.0',
};

export interface S3Server {
  /** host:port, as spec.chart.s3.endpoint takes it. */
  endpoint: string;
  region: string;
  accessKey: string;
  secretKey: string;
  /** A client with the root credentials (to make buckets and put objects). */
  client: S3Client;
  /** Secret data with the root credentials (`accesskey`, `secretkey`). */
  secretData(): Record<string, string>;
  close(): Promise<void>;
}

/** The versitygw binary: built on first use (minutes), then cached in ~/.cache/converge/tools. */
export function versitygwPath(): Promise<string> {
  const script = resolve(import.meta.dirname, '../../scripts/go-tool.sh');
  return new Promise((done, fail) =>
    execFile(
      script,
      [VERSITYGW.name, VERSITYGW.pkg, VERSITYGW.version],
      { maxBuffer: 1 << 20 },
      (err, stdout) => {
        if (err) fail(new Error(`building versitygw failed: ${err.message}`));
        else done(stdout.trim().split('\n').pop()!);
      },
    ),
  );
}

export async function startS3Server(): Promise<S3Server> {
  const binary = await versitygwPath();
  const root = await mkdtemp(join(tmpdir(), 'converge-s3-'));
  const port = await freePort();
  const accessKey = 'converge-test';
  const secretKey = `secret-${Math.random().toString(36).slice(2)}`;
  const region = 'us-east-1';
  let output = '';
  // Credentials through the environment: never in argv.
  const child: ChildProcess = spawn(binary, ['--port', `127.0.0.1:${port}`, 'posix', root], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ROOT_ACCESS_KEY: accessKey,
      ROOT_SECRET_KEY: secretKey,
      VGW_REGION: region,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const onExit = () => child.kill('SIGKILL');
  process.on('exit', onExit);
  const endpoint = `127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (!(await answers(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      await rm(root, { recursive: true, force: true });
      throw new Error(`versitygw did not start on ${endpoint}: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const client = createS3Client({
    endpoint,
    region,
    insecure: true,
    credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
  });
  return {
    endpoint,
    region,
    accessKey,
    secretKey,
    client,
    secretData: () => ({ accesskey: accessKey, secretkey: secretKey }),
    async close() {
      process.off('exit', onExit);
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(root, { recursive: true, force: true });
    },
  };
}

function answers(port: number): Promise<boolean> {
  return new Promise((done) => {
    const req = request({ host: '127.0.0.1', port, path: '/', method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      done(true);
    });
    req.on('error', () => done(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
