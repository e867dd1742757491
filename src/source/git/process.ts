// Runs one git process: fresh environment, a deadline that kills its whole process group, redacted output.
import { spawn } from 'node:child_process';
import type { Logger } from 'pino';
import { ConvergeError, formatTimeout, sanitizeMessage, type FailureReason } from '../../api/index.ts';
import { GIT_BINARY } from './config.ts';
import { redact } from '../redact.ts';

/** Counts of what a GitSource spent, for the benchmark and metrics. */
export interface GitStats {
  /** Every git process spawned, whatever its outcome. */
  processes: number;
  lsRemotes: number;
  fetches: number;
  /** `git gc` runs that collected a cache's unreachable objects. */
  collections: number;
  /** Caches an earlier run of the operator left that this one fetched on top of. */
  reused: number;
}

export interface RunGitOptions {
  env: Record<string, string>;
  cwd?: string;
  /** Epoch ms after which the process group is killed. */
  deadline: number;
  /** Secret values to scrub from output (password, token, key lines). */
  secrets: readonly string[];
  /** What to call the target in messages: the URL with any userinfo removed. */
  target: string;
  logger: Logger;
  stats: GitStats;
}

export interface GitResult {
  stdout: string;
  stderr: string;
}

const MAX_STDOUT = 64 * 1024 * 1024;
const MAX_STDERR = 64 * 1024;

/** Runs `git <args>`; throws a ConvergeError with a reason and a redacted, actionable message. */
export function runGit(args: readonly string[], opts: RunGitOptions): Promise<GitResult> {
  const op = `git ${subcommand(args)}`;
  const budget = opts.deadline - Date.now();
  if (budget <= 0) {
    return Promise.reject(
      new ConvergeError('FetchFailed', `${op} of ${opts.target} timed out before it could start`),
    );
  }
  opts.stats.processes++;
  const started = Date.now();
  return new Promise<GitResult>((resolve, reject) => {
    // detached: git is the leader of its own process group, so a timeout also kills the
    // git-remote-http or ssh it started, which would otherwise hold the connection open.
    const child = spawn(GIT_BINARY, args, {
      env: opts.env,
      cwd: opts.cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let timedOut = false;
    let overflow = false;
    const kill = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, budget);
    timer.unref();
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > MAX_STDOUT) {
        overflow = true;
        kill();
      } else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (errBytes < MAX_STDERR) err.push(chunk);
      errBytes += chunk.length;
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new ConvergeError('FetchFailed', `${op}: could not start git (${e.message})`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      // Redact first (a secret split by an escape sequence is still whole in the raw text), then
      // strip what a terminal would act on: the server chooses these bytes.
      const stderr = sanitizeMessage(redact(Buffer.concat(err).toString('utf8'), opts.secrets), {
        maxBytes: MAX_STDERR,
      });
      const ms = Date.now() - started;
      opts.logger.debug({ op, target: opts.target, code, signal, ms }, 'git finished');
      if (timedOut) {
        reject(
          new ConvergeError(
            'FetchFailed',
            `${op} of ${opts.target} timed out after ${formatTimeout(budget)} and was stopped`,
          ),
        );
      } else if (overflow) {
        reject(
          new ConvergeError('FetchFailed', `${op} of ${opts.target}: output exceeds ${MAX_STDOUT} bytes`),
        );
      } else if (code !== 0) {
        reject(gitError(op, opts.target, stderr, code, signal));
      } else {
        resolve({ stdout, stderr });
      }
    });
  });
}

const AUTH =
  /authentication failed|could not read (username|password)|terminal prompts disabled|returned error: 40[13]|http 40[13]|permission denied \(|host key verification failed|remote host identification has changed|no \S+ host key is known|load key|invalid format|too many authentication failures/i;
const REF = /couldn't find remote ref|not our ref|unadvertised object|no such ref|invalid refspec/i;
const NOT_FOUND =
  /repository not found|returned error: 404|does not appear to be a git repository|not found/i;

/** Maps git's (already redacted) stderr to a condition reason and a message saying what to fix. */
function gitError(
  op: string,
  target: string,
  stderr: string,
  code: number | null,
  signal: NodeJS.Signals | null,
): ConvergeError {
  let detail = lastLines(stderr) || (signal ? `killed by ${signal}` : `exit code ${code}`);
  if (/could not read (username|password)/i.test(stderr)) {
    detail = 'the server asked for credentials (HTTP 401): the ones given were rejected, or none were given';
  }
  let reason: FailureReason = 'FetchFailed';
  let hint = 'check that the URL is reachable from the controller';
  if (AUTH.test(stderr)) {
    reason = 'AuthenticationFailed';
    hint = /host key|host identification/i.test(stderr)
      ? "the server's host key is not in known_hosts of the secret: add it (ssh-keyscan) and check it"
      : 'check the credentials in the secret of spec.secretRef';
  } else if (REF.test(stderr)) {
    reason = 'RefNotFound';
    hint = 'check spec.ref: the branch, tag or commit is not on the remote';
  } else if (NOT_FOUND.test(stderr)) {
    hint =
      'check spec.url (some hosts answer "not found" for private repositories without valid credentials)';
  }
  return new ConvergeError(reason, `${op} of ${target} failed: ${detail}; ${hint}`);
}

// Lines git adds to every remote failure; they hide the one line that says what went wrong.
const BOILERPLATE =
  /^(hint:|warning: redirecting)|could not read from remote repository|make sure you have the correct access|and the repository exists/i;

function lastLines(text: string): string {
  const lines = text
    .split(/\r?\n|\r/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !BOILERPLATE.test(l));
  return lines.slice(-3).join(' | ').slice(0, 600);
}

/** The git subcommand, skipping the --git-dir/--work-tree options that precede it. */
function subcommand(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--git-dir' || arg === '--work-tree' || arg === '-C') i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return '';
}
