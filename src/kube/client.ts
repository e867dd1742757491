// KubeClient: raw JSON requests to the API server with a KubeConfig's TLS and auth, impersonation and request counts.
// Client-node's typed models are never used for objects: they drop fields they do not know.
import * as http from 'node:http';
import * as https from 'node:https';
import { FIELD_MANAGER, groupOf, versionOf, type KubeObject, type ObjectRef } from '../api/index.ts';
import { loadClusterAccess, type ClusterAccess, type RequestAuth } from './config.ts';
import { ApiError, isNotFound } from './errors.ts';
import { RestMapper } from './mapper.ts';
import { sleep } from './limit.ts';
import { resourcePath } from './paths.ts';
import { RequestStats, type RequestListener } from './stats.ts';
import { watchResource, type Watchable, type WatchEvent, type WatchOptions } from './watch.ts';

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  contentType?: string;
  accept?: string;
  signal?: AbortSignal;
  /** Per-attempt bound; default the client's (30 s). */
  timeoutMs?: number;
}

export interface KubeClientOptions {
  /** Bound on concurrent connections to the API server (default 32). */
  maxSockets?: number;
  /** Per-request timeout in ms (default 30 000). */
  timeoutMs?: number;
  /** Called once per finished request (verb, status code, duration): wire it to metrics. */
  onRequest?: RequestListener;
  /** How often bearer tokens from files or exec plugins are re-read (default 60 s). */
  authRefreshMs?: number;
  /**
   * Retry a request that timed out (default true). Off for remote clusters: a hung API server does
   * not answer the second time either, and each retry would hold a worker for another timeout.
   */
  retryTimeouts?: boolean;
  userAgent?: string;
}

export interface ApplyOptions {
  dryRun?: boolean;
  /** Take over fields other managers own (default true, as the design says). */
  force?: boolean;
  fieldManager?: string;
  signal?: AbortSignal;
  mapper?: RestMapper;
}

export interface DeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  /** Delete only if the live object still has this uid (guards against deleting a recreated object). */
  uid?: string;
  signal?: AbortSignal;
  mapper?: RestMapper;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size (default 500); all pages are fetched. */
  limit?: number;
  /** e.g. a PartialObjectMetadataList request, when names and labels are enough. */
  accept?: string;
  signal?: AbortSignal;
}

export interface ObjectList<T> {
  items: T[];
  resourceVersion: string;
}

/** Where a request goes and with which credentials; shared by a client and its impersonating copies. */
class Connection {
  private headers: Record<string, string> = {};
  private basicAuth: string | undefined;
  private refreshedAt = 0;
  private refreshing: Promise<void> | undefined;
  private pool: http.Agent;
  /** Watches hold a connection for minutes: they get their own pool so they never starve requests. */
  private watchPool: http.Agent;
  /** The client certificate an exec plugin gave last (PEM cert + key), if any. */
  private identity = '';
  /** Pools of an earlier client certificate, destroyed once their requests are done. */
  private readonly retired = new Set<http.Agent>();

  constructor(
    readonly server: URL,
    private readonly agentOptions: https.AgentOptions,
    private readonly readAuth: () => Promise<RequestAuth>,
    private readonly authRefreshMs: number,
    readonly stats: RequestStats,
    readonly timeoutMs: number,
    readonly userAgent: string,
    readonly retryTimeouts = true,
  ) {
    [this.pool, this.watchPool] = this.agents(agentOptions);
  }

  get agent(): http.Agent {
    return this.pool;
  }

  get watchAgent(): http.Agent {
    return this.watchPool;
  }

  private agents(options: https.AgentOptions): [http.Agent, http.Agent] {
    const isHttps = this.server.protocol === 'https:';
    const watch = { ...options, keepAlive: false, maxSockets: Infinity, maxFreeSockets: 0 };
    return isHttps
      ? [new https.Agent(options), new https.Agent(watch)]
      : [new http.Agent(options), new http.Agent(watch)];
  }

  async auth(force = false): Promise<{ headers: Record<string, string>; basic: string | undefined }> {
    if (force || Date.now() - this.refreshedAt > this.authRefreshMs) {
      this.refreshing ??= this.refresh().finally(() => (this.refreshing = undefined));
      await this.refreshing;
    }
    return { headers: this.headers, basic: this.basicAuth };
  }

  private async refresh(): Promise<void> {
    const { headers, basic, cert, key } = await this.readAuth();
    this.headers = { ...headers };
    this.basicAuth = basic;
    this.refreshedAt = Date.now();
    const identity = cert && key ? `${cert}\0${key}` : '';
    if (identity === this.identity) return;
    // A new client certificate needs new TLS connections. Requests under way finish on the old
    // pools (bounded by the request timeout); a watch on one reconnects with the new certificate.
    this.identity = identity;
    const old = [this.pool, this.watchPool];
    [this.pool, this.watchPool] = this.agents(
      identity ? { ...this.agentOptions, cert, key } : this.agentOptions,
    );
    for (const a of old) this.retired.add(a);
    setTimeout(() => {
      for (const a of old) {
        a.destroy();
        this.retired.delete(a);
      }
    }, this.timeoutMs + 5_000).unref();
  }

  close(): void {
    for (const a of [this.pool, this.watchPool, ...this.retired]) a.destroy();
    this.retired.clear();
  }
}

export class KubeClient {
  private mapperInstance: RestMapper | undefined;

  private constructor(
    private readonly conn: Connection,
    private readonly impersonation: Record<string, string | string[]>,
    private readonly root: KubeClient | undefined,
  ) {}

  /** A client for one kubeconfig context (see loadClusterAccess). */
  static async connect(access: ClusterAccess, opts: KubeClientOptions = {}): Promise<KubeClient> {
    const server = access.server;
    const agentOptions: https.AgentOptions = {
      keepAlive: true,
      maxSockets: opts.maxSockets ?? 32,
      maxFreeSockets: opts.maxSockets ?? 32,
      ca: access.ca,
      cert: access.cert,
      key: access.key,
      servername: access.tlsServerName,
      ...(access.insecureSkipTlsVerify ? { rejectUnauthorized: false } : {}),
    };
    const conn = new Connection(
      server,
      agentOptions,
      () => access.auth(),
      opts.authRefreshMs ?? 60_000,
      new RequestStats(opts.onRequest),
      opts.timeoutMs ?? 30_000,
      opts.userAgent ?? 'converge',
      opts.retryTimeouts ?? true,
    );
    await conn.auth(true);
    return new KubeClient(conn, {}, undefined);
  }

  /** A client from a kubeconfig file (its current context). */
  static fromFile(path: string, opts: KubeClientOptions = {}): Promise<KubeClient> {
    return KubeClient.connect(loadClusterAccess({ path }), opts);
  }

  /** A client whose every request impersonates `user` (e.g. `system:serviceaccount:ns:name`). */
  impersonating(user: string, groups: string[] = []): KubeClient {
    const headers: Record<string, string | string[]> = { 'Impersonate-User': user };
    if (groups.length > 0) headers['Impersonate-Group'] = groups;
    return new KubeClient(this.conn, headers, this.root ?? this);
  }

  /** Counts of requests made by this client and all clients sharing its connection. */
  get stats(): RequestStats {
    return this.conn.stats;
  }

  /** The REST mapper, discovered with the un-impersonated client and shared by impersonating copies. */
  get mapper(): RestMapper {
    if (this.root) return this.root.mapper;
    this.mapperInstance ??= new RestMapper(this);
    return this.mapperInstance;
  }

  get server(): string {
    return this.conn.server.toString();
  }

  close(): void {
    this.conn.close();
  }

  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const attempts = method === 'POST' ? 1 : 3;
    let authRetried = false;
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.once(method, path, opts)) as T;
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        if (err instanceof ApiError && err.status === 401 && !authRetried) {
          // Rotated token (projected service-account token, exec plugin): re-read once.
          authRetried = true;
          await this.conn.auth(true);
          attempt--;
          continue;
        }
        if (attempt >= attempts || !transient(err)) throw err;
        if (!this.conn.retryTimeouts && err instanceof ApiError && err.reason === 'Timeout') throw err;
        await sleep(100 * 2 ** attempt, opts.signal);
      }
    }
  }

  private url(path: string, query?: Query): URL {
    const base = this.conn.server;
    const url = new URL(base.toString());
    url.pathname = base.pathname.replace(/\/$/, '') + path;
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url;
  }

  private async headers(
    extra: Record<string, string>,
  ): Promise<{ headers: http.OutgoingHttpHeaders; auth?: string }> {
    const { headers, basic } = await this.conn.auth();
    return {
      headers: { 'User-Agent': this.conn.userAgent, ...headers, ...this.impersonation, ...extra },
      ...(basic ? { auth: basic } : {}),
    };
  }

  private async once(method: string, path: string, opts: RequestOptions): Promise<unknown> {
    const url = this.url(path, opts.query);
    const extra: Record<string, string> = { Accept: opts.accept ?? 'application/json' };
    let data: string | undefined;
    if (opts.body !== undefined) {
      data = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      extra['Content-Type'] = opts.contentType ?? 'application/json';
      extra['Content-Length'] = String(Buffer.byteLength(data));
    }
    const { headers, auth } = await this.headers(extra);
    const started = performance.now();
    const dryRun = opts.query?.dryRun !== undefined;
    let code = 0;
    try {
      const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const lib = url.protocol === 'https:' ? https : http;
        const req = lib.request(
          url,
          { method, headers, auth, agent: this.conn.agent, signal: opts.signal },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
            );
            res.on('error', reject);
          },
        );
        req.setTimeout(opts.timeoutMs ?? this.conn.timeoutMs, () =>
          req.destroy(new ApiError(0, 'Timeout', `${method} ${path} timed out`, [], method, path)),
        );
        req.on('error', reject);
        req.end(data);
      });
      code = status;
      if (status < 200 || status >= 300) throw ApiError.fromResponse(status, text, method, path);
      return text ? JSON.parse(text) : undefined;
    } catch (err) {
      if (err instanceof ApiError || opts.signal?.aborted) throw err;
      const message = err instanceof Error ? err.message : String(err);
      throw new ApiError(0, 'ConnectionFailed', `${method} ${path}: ${message}`, [], method, path, {
        cause: err,
      });
    } finally {
      this.conn.stats.record({ verb: method, code, dryRun, durationMs: performance.now() - started });
    }
  }

  /**
   * Streams a watch: calls onLine for each JSON line until the server ends the stream (resolves)
   * or it fails (rejects). Used by `watch`.
   */
  async stream(
    path: string,
    query: Query,
    signal: AbortSignal | undefined,
    onLine: (line: unknown) => Promise<void> | void,
    idleMs: number,
  ): Promise<void> {
    const url = this.url(path, query);
    const { headers, auth } = await this.headers({ Accept: 'application/json' });
    const started = performance.now();
    let code = 0;
    try {
      await new Promise<void>((resolve, reject) => {
        const lib = url.protocol === 'https:' ? https : http;
        const req = lib.request(
          url,
          { method: 'GET', headers, auth, agent: this.conn.watchAgent, signal },
          (res) => {
            code = res.statusCode ?? 0;
            if (code < 200 || code >= 300) {
              const chunks: Buffer[] = [];
              res.on('data', (c: Buffer) => chunks.push(c));
              res.on('end', () =>
                reject(ApiError.fromResponse(code, Buffer.concat(chunks).toString('utf8'), 'GET', path)),
              );
              return;
            }
            let buffered = '';
            // Lines are handled one at a time, in order: the handler may be async.
            let chain = Promise.resolve();
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              buffered += chunk;
              let nl: number;
              while ((nl = buffered.indexOf('\n')) >= 0) {
                const line = buffered.slice(0, nl).trim();
                buffered = buffered.slice(nl + 1);
                if (!line) continue;
                // A parse failure must end this stream (and be retried), not crash the process from an event handler.
                chain = chain.then(() => onLine(JSON.parse(line)));
                chain.catch((err: unknown) => req.destroy(err as Error));
              }
            });
            res.on('end', () => chain.then(resolve, reject));
            res.on('error', reject);
            res.on('aborted', () =>
              reject(new ApiError(0, 'ConnectionFailed', 'watch stream aborted', [], 'GET', path)),
            );
          },
        );
        req.setTimeout(idleMs, () =>
          req.destroy(new ApiError(0, 'Timeout', `watch ${path} idle`, [], 'GET', path)),
        );
        req.on('error', reject);
        req.end();
      });
    } finally {
      this.conn.stats.record({ verb: 'WATCH', code, dryRun: false, durationMs: performance.now() - started });
    }
  }

  /**
   * List then watch `path` (a collection path such as `/api/v1/namespaces/x/configmaps`), calling
   * onEvent for every change, until the signal aborts. Survives 410 Gone (relists and emits the
   * difference), dropped connections and API server restarts; uses bookmarks.
   */
  watch<T extends Watchable = KubeObject>(
    path: string,
    opts: WatchOptions,
    onEvent: (event: WatchEvent<T>) => Promise<void> | void,
  ): Promise<void> {
    return watchResource(this, path, opts, onEvent);
  }

  // ---- object-level helpers (resolve paths through the REST mapper) ----

  async pathOf(
    ref: Pick<ObjectRef, 'group' | 'version' | 'kind' | 'namespace'> & { name?: string },
    mapper = this.mapper,
    subresource?: string,
  ): Promise<string> {
    const mapping = await mapper.mappingFor(ref);
    return resourcePath(mapping, ref.namespace, ref.name, subresource);
  }

  async get<T = KubeObject>(
    ref: ObjectRef | string,
    opts: { signal?: AbortSignal; mapper?: RestMapper } = {},
  ): Promise<T> {
    const path = typeof ref === 'string' ? ref : await this.pathOf(ref, opts.mapper);
    return this.request<T>('GET', path, { signal: opts.signal });
  }

  /** The object, or undefined when it does not exist. */
  async getIfExists<T = KubeObject>(
    ref: ObjectRef | string,
    opts: { signal?: AbortSignal; mapper?: RestMapper } = {},
  ): Promise<T | undefined> {
    try {
      return await this.get<T>(ref, opts);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** All items of a collection path, following `continue` tokens. */
  async list<T = KubeObject>(path: string, opts: ListOptions = {}): Promise<ObjectList<T>> {
    const items: T[] = [];
    let resourceVersion = '';
    for await (const page of this.listPages<T>(path, opts)) {
      for (const item of page.items) items.push(item);
      resourceVersion = page.resourceVersion;
    }
    return { items, resourceVersion };
  }

  /**
   * The pages of a list, one at a time (`limit` each, default 500), so a caller that keeps only a
   * little of each object never holds the whole collection; `resourceVersion` is the list's.
   */
  async *listPages<T = KubeObject>(path: string, opts: ListOptions = {}): AsyncGenerator<ObjectList<T>> {
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      const items: T[] = [];
      const page = await this.request<{
        apiVersion?: string;
        kind?: string;
        items?: T[];
        metadata?: { continue?: string; resourceVersion?: string };
      }>('GET', path, {
        query: {
          labelSelector: opts.labelSelector,
          fieldSelector: opts.fieldSelector,
          limit: opts.limit ?? 500,
          continue: cont,
        },
        ...(opts.accept ? { accept: opts.accept } : {}),
        signal: opts.signal,
      });
      // List items come without apiVersion and kind; diffs, health rules and watchers need them.
      const kind = page.kind?.endsWith('List') ? page.kind.slice(0, -4) : undefined;
      for (const item of page.items ?? []) {
        const typed = item as { apiVersion?: string; kind?: string };
        if (kind && page.apiVersion) {
          typed.apiVersion ??= page.apiVersion;
          typed.kind ??= kind;
        }
        items.push(item);
      }
      cont = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      yield { items, resourceVersion };
    } while (cont);
  }

  /** Server-side apply (PATCH application/apply-patch+yaml with a JSON body). */
  async apply<T = KubeObject>(obj: KubeObject, opts: ApplyOptions = {}): Promise<T> {
    const ref = {
      group: groupOf(obj.apiVersion),
      version: versionOf(obj.apiVersion),
      kind: obj.kind,
      namespace: obj.metadata.namespace ?? '',
      name: obj.metadata.name,
    };
    const path = await this.pathOf(ref, opts.mapper);
    return this.applyAt<T>(path, obj, opts);
  }

  /** Server-side apply to a known path (the planner resolves paths once). */
  applyAt<T = KubeObject>(
    path: string,
    obj: KubeObject,
    opts: Omit<ApplyOptions, 'mapper'> = {},
  ): Promise<T> {
    return this.request<T>('PATCH', path, {
      query: {
        fieldManager: opts.fieldManager ?? FIELD_MANAGER,
        force: opts.force ?? true,
        dryRun: opts.dryRun ? 'All' : undefined,
      },
      body: obj,
      contentType: 'application/apply-patch+yaml',
      signal: opts.signal,
    });
  }

  /** Deletes the object; false when it was already gone. */
  async delete(ref: ObjectRef | string, opts: DeleteOptions = {}): Promise<boolean> {
    const path = typeof ref === 'string' ? ref : await this.pathOf(ref, opts.mapper);
    const body: Record<string, unknown> = {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      propagationPolicy: opts.propagationPolicy ?? 'Background',
    };
    if (opts.uid) body.preconditions = { uid: opts.uid };
    try {
      await this.request('DELETE', path, { body, signal: opts.signal });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** JSON merge patch (RFC 7386) of the object or one of its subresources. */
  async mergePatch<T = KubeObject>(
    ref: ObjectRef | string,
    patch: unknown,
    opts: { subresource?: string; fieldManager?: string; signal?: AbortSignal; mapper?: RestMapper } = {},
  ): Promise<T> {
    const path = typeof ref === 'string' ? ref : await this.pathOf(ref, opts.mapper, opts.subresource);
    return this.request<T>('PATCH', path, {
      query: { fieldManager: opts.fieldManager },
      body: patch,
      contentType: 'application/merge-patch+json',
      signal: opts.signal,
    });
  }

  /** Merge-patches `.status` through the status subresource. */
  patchStatus<T = KubeObject>(
    ref: ObjectRef,
    status: unknown,
    opts: { fieldManager?: string; signal?: AbortSignal; mapper?: RestMapper } = {},
  ): Promise<T> {
    return this.mergePatch<T>(ref, { status }, { ...opts, subresource: 'status' });
  }
}

function transient(err: unknown): boolean {
  if (!(err instanceof ApiError)) return false;
  return err.status === 0 || err.status === 429 || err.status === 503 || err.status === 504;
}
