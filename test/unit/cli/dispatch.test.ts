// The dispatcher without a cluster: help for every command, one-line usage errors, exit codes.
import { describe, expect, it } from 'vitest';
import { COMMANDS, runCli, type CliIO } from '../../../src/cli/index.ts';

function io(): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: { write: (t: string) => out.push(t) },
    stderr: { write: (t: string) => err.push(t) },
    env: {},
    now: () => new Date('2026-11-26T12:00:00Z'),
    prog: 'converge',
    signal: new AbortController().signal,
  };
}

describe('converge --help', () => {
  it('lists every command, run and version', async () => {
    const x = io();
    expect(await runCli(['--help'], x)).toBe(0);
    const text = x.out.join('');
    for (const c of COMMANDS) expect(text).toMatch(new RegExp(`^  ${c.name}\\s`, 'm'));
    expect(text).toMatch(/^ {2}run\s/m);
    expect(text).toMatch(/^ {2}version\s/m);
  });
  it.each(COMMANDS.map((c) => c.name))('%s --help shows usage, flags and an example', async (name) => {
    const x = io();
    expect(await runCli([name, '--help'], x)).toBe(0);
    const text = x.out.join('');
    expect(text).toMatch(new RegExp(`^Usage: converge ${name}`));
    expect(text).toMatch(/Examples:\n {2}converge /);
  });
  it('names itself `kubectl converge` as a kubectl plugin', async () => {
    const x = { ...io(), prog: 'kubectl converge' };
    await runCli(['diff', '--help'], x);
    expect(x.out.join('')).toMatch(/^Usage: kubectl converge diff/);
    expect(x.out.join('')).toContain('  kubectl converge diff web -n apps');
  });
});

describe('usage errors', () => {
  it.each([
    [['nope'], 2, /unknown command "nope"/],
    [['get', '--bogus'], 2, /get: unknown or malformed flag --bogus/],
    [['tree'], 2, /tree: missing NAME/],
    [['get', '-o', 'wide'], 2, /-o wide: must be json or yaml/],
    [['reconcile', 'web', '--timeout', 'soon'], 2, /--timeout soon/],
    [['diff'], 2, /diff: missing NAME/],
  ])('%j exits %d with one line', async (argv, code, message) => {
    const x = io();
    expect(await runCli(argv, x)).toBe(code);
    const text = x.err.join('');
    expect(text).toMatch(message);
    expect(text.trim().split('\n')).toHaveLength(1);
  });
});
