// Runs kubectl kustomize / helm template as bounded child processes: timeout, abort, output cap.
import { spawn } from 'node:child_process';
import { ConvergeError, formatTimeout, sanitizeMessage } from '../api/index.ts';

export interface ToolRun {
  command: string;
  args: string[];
  cwd: string;
  /** The whole environment: nothing is inherited, so no user kubeconfig, proxy or plugin path leaks in. */
  env: Record<string, string>;
  timeoutMs: number;
  maxOutputBytes: number;
  signal?: AbortSignal;
  /** Short name for messages, e.g. `kustomize build of apps/prod`. */
  what: string;
  /** Rewrites tool messages so they name repository paths, not temp or checkout paths. */
  redact(text: string): string;
}

export function runTool(run: ToolRun): Promise<string> {
  run.signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const child = spawn(run.command, run.args, {
      cwd: run.cwd,
      env: run.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    let failure: Error | undefined;
    const stop = (why: Error) => {
      failure ??= why;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(
      () =>
        stop(
          new ConvergeError('RenderFailed', `${run.what} timed out after ${formatTimeout(run.timeoutMs)}`),
        ),
      run.timeoutMs,
    );
    timer.unref();
    const onAbort = () =>
      stop(run.signal?.reason instanceof Error ? run.signal.reason : new Error('aborted'));
    run.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > run.maxOutputBytes) {
        stop(new ConvergeError('RenderFailed', `${run.what} produced more than ${run.maxOutputBytes} bytes`));
        return;
      }
      out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      // Keep the tail: tools print the real error last.
      err = (err + chunk.toString('utf8')).slice(-4000);
    });
    const finish = (code: number | null, spawnError?: Error) => {
      clearTimeout(timer);
      run.signal?.removeEventListener('abort', onAbort);
      if (failure) return reject(failure);
      if (spawnError) {
        return reject(
          new ConvergeError('RenderFailed', `${run.what}: cannot run ${run.command}: ${spawnError.message}`, {
            cause: spawnError,
          }),
        );
      }
      if (code !== 0) {
        // The tool's words, minus anything a terminal would act on (it may echo repository content).
        const detail = sanitizeMessage(run.redact(err)) || `exit code ${code}`;
        return reject(new ConvergeError('RenderFailed', `${run.what} failed: ${detail}`));
      }
      resolve(Buffer.concat(out).toString('utf8'));
    };
    child.on('error', (e) => finish(null, e));
    child.on('close', (code) => finish(code));
  });
}
