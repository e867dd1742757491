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
  /**
   * Bounds on what the tool prints, checked as it streams, so a flood is stopped (and the tool
   * killed) long before it is all in memory: bytes of one YAML document (between `---` lines),
   * and the number of documents.
   */
  maxDocumentBytes?: number;
  maxDocuments?: number;
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
    const documents = new DocumentCounter();
    child.stdout.on('data', (chunk: Buffer) => {
      if (failure) return;
      outBytes += chunk.length;
      if (outBytes > run.maxOutputBytes) {
        stop(
          new ConvergeError(
            'RenderFailed',
            `${run.what} printed more than ${run.maxOutputBytes} bytes (the total limit); it was stopped`,
          ),
        );
        out.length = 0;
        return;
      }
      documents.add(chunk);
      if (run.maxDocumentBytes !== undefined && documents.largest > run.maxDocumentBytes) {
        stop(
          new ConvergeError(
            'RenderFailed',
            `${run.what} printed document ${documents.count} of more than ${run.maxDocumentBytes} bytes (the per-file limit); it was stopped`,
          ),
        );
        out.length = 0;
        return;
      }
      if (run.maxDocuments !== undefined && documents.count > run.maxDocuments) {
        stop(
          new ConvergeError(
            'RenderFailed',
            `${run.what} printed more than ${run.maxDocuments} YAML documents (the document limit); it was stopped`,
          ),
        );
        out.length = 0;
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

/**
 * Counts YAML documents in a stream by their `---` separator lines (empty documents included, as
 * the parser counts them), and the size of the largest one so far, without keeping the text: a
 * separator or a line split across chunks is still seen.
 */
export class DocumentCounter {
  count = 0;
  /** Bytes of the largest document so far, the current one included. */
  largest = 0;
  /** Bytes of the current document before the current line. */
  private doc = 0;
  /** Bytes of the current line so far. */
  private line = 0;
  /** Its first four bytes at most: enough to recognise `---`. */
  private head = '';
  private lines = 0;

  add(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.count === 0) this.count = 1;
    let from = 0;
    while (from < chunk.length) {
      const nl = chunk.indexOf(10, from);
      const end = nl < 0 ? chunk.length : nl + 1;
      if (this.head.length < 4) {
        this.head += chunk.toString('latin1', from, Math.min(end, from + 4 - this.head.length));
      }
      this.line += end - from;
      if (nl < 0) break;
      if (SEPARATOR.test(this.head)) {
        // Whatever follows `---` on its line (`--- {a: 1}`) already belongs to the next document.
        if (this.lines > 0) this.count++;
        this.doc = this.line;
      } else {
        this.doc += this.line;
      }
      this.largest = Math.max(this.largest, this.doc);
      this.lines++;
      this.line = 0;
      this.head = '';
      from = end;
    }
    // A line still arriving: part of the current document, or of the next one after a separator.
    const opensNext = SEPARATOR.test(this.head) || '---'.startsWith(this.head);
    this.largest = Math.max(this.largest, opensNext ? this.line : this.doc + this.line);
  }
}

const SEPARATOR = /^---(\s|$)/;
