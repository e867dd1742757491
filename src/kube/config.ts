// Kubeconfig loading as kubectl does it (files merged, in-cluster service account), without loading
// client-node: its generated models cost ~85 MiB of RSS. Only exec plugins and auth providers (cloud
// logins) are handed to client-node, loaded on first use.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import * as yaml from 'js-yaml';

/** Credentials for one request: headers (a bearer token) and/or basic auth (`user:password`). */
export interface RequestAuth {
  headers: Record<string, string>;
  basic: string | undefined;
  /**
   * A client certificate and key (PEM) from an exec plugin (Teleport, some OIDC logins); they
   * replace the kubeconfig's own and may change on any refresh (the client then reconnects).
   */
  cert?: string | undefined;
  key?: string | undefined;
}

/** Everything a client needs to reach the API server of one kubeconfig context. */
export interface ClusterAccess {
  server: URL;
  ca?: Buffer | undefined;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
  insecureSkipTlsVerify: boolean;
  tlsServerName?: string | undefined;
  /** The context's namespace, if it sets one (the service account's namespace in a cluster). */
  namespace?: string | undefined;
  /** The context name (`in-cluster` for the service account). */
  context: string;
  /** Called on every auth refresh: token files rotate and exec plugins expire. */
  auth(): Promise<RequestAuth>;
}

export interface LoadKubeConfigOptions {
  /** --kubeconfig: one file, or a list joined like $KUBECONFIG. */
  path?: string | undefined;
  /** --context: overrides current-context. */
  context?: string | undefined;
  /** The operator's order: in-cluster before ~/.kube/config when no path and no $KUBECONFIG is given. */
  preferInCluster?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Where the service account is mounted (tests). */
  serviceAccountDir?: string;
}

export class KubeConfigError extends Error {
  override name = 'KubeConfigError';
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

type Named<T> = { name: string } & Record<string, T | undefined>;
interface RawFile {
  file: string;
  doc: Record<string, unknown>;
}
interface Merged {
  files: string[];
  currentContext: string | undefined;
  clusters: Map<string, { entry: Record<string, unknown>; dir: string; file: string }>;
  users: Map<string, { entry: Record<string, unknown>; dir: string; file: string }>;
  contexts: Map<string, { entry: Record<string, unknown>; file: string }>;
}

/** Loads the current (or named) context's access: --kubeconfig, $KUBECONFIG, ~/.kube/config, in-cluster. */
export function loadClusterAccess(opts: LoadKubeConfigOptions = {}): ClusterAccess {
  const env = opts.env ?? process.env;
  const saDir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const inCluster = !!env.KUBERNETES_SERVICE_HOST && existsSync(join(saDir, 'token'));
  const explicit = opts.path ?? env.KUBECONFIG;
  if (!explicit && opts.preferInCluster && inCluster && !opts.context) return inClusterAccess(env, saDir);
  const files = explicit
    ? explicit.split(delimiter).filter((f) => f !== '')
    : [join(env.HOME ?? homedir(), '.kube', 'config')].filter((f) => existsSync(f));
  if (files.length === 0) {
    if (inCluster && !opts.context) return inClusterAccess(env, saDir);
    throw new KubeConfigError(
      'no kubeconfig: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run in a cluster',
    );
  }
  const merged = mergeFiles(files.map(readKubeConfigFile).filter((f) => f !== undefined));
  return accessFor(merged, opts.context);
}

function readKubeConfigFile(file: string): RawFile | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    // kubectl skips missing files in a $KUBECONFIG list; a single named file must exist.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KubeConfigError(`cannot read kubeconfig ${file}: ${(err as Error).message}`);
  }
  return parseKubeConfig(text, file);
}

function parseKubeConfig(text: string, file: string): RawFile {
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch (err) {
    // The first line of the parser's message only: later lines quote the text (a kubeconfig holds secrets).
    throw new KubeConfigError(
      `kubeconfig ${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  if (doc === undefined || doc === null) return { file, doc: {} };
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new KubeConfigError(`kubeconfig ${file} is not a mapping`);
  return { file, doc: doc as Record<string, unknown> };
}

/**
 * What a kubeconfig from a Secret may use beyond inline data. Each is off by default: a tenant's
 * Secret must not run commands in the operator's pod (exec, auth-provider) nor make it read its own
 * files (a tokenFile pointing at the operator's service-account token).
 */
export interface KubeConfigPolicy {
  /** `exec` plugins and `auth-provider`s (--allow-kubeconfig-exec). */
  allowExec: boolean;
  /** certificate-authority, client-certificate, client-key and tokenFile paths (--allow-kubeconfig-files). */
  allowFiles: boolean;
}

/**
 * The current context of a kubeconfig held in memory (a Secret's value). `where` names it in errors
 * ("secret apps/prod key value"); no error quotes its content.
 */
export function clusterAccessFromKubeConfig(
  text: string,
  where: string,
  policy: KubeConfigPolicy,
): ClusterAccess {
  const merged = mergeFiles([parseKubeConfig(text, where)]);
  // Relative file references (when allowed) resolve against the working directory, as no file holds them.
  return accessFor(merged, undefined, { policy, text, dir: process.cwd() });
}

/** kubectl's merge: the first file that names a cluster, user or context (or current-context) wins. */
function mergeFiles(files: RawFile[]): Merged {
  const merged: Merged = {
    files: files.map((f) => f.file),
    currentContext: undefined,
    clusters: new Map(),
    users: new Map(),
    contexts: new Map(),
  };
  for (const { file, doc } of files) {
    const dir = dirname(file);
    if (
      merged.currentContext === undefined &&
      typeof doc['current-context'] === 'string' &&
      doc['current-context']
    )
      merged.currentContext = doc['current-context'];
    for (const [list, field] of [
      ['clusters', 'cluster'],
      ['users', 'user'],
      ['contexts', 'context'],
    ] as const) {
      const items = doc[list];
      if (items === undefined || items === null) continue;
      if (!Array.isArray(items)) throw new KubeConfigError(`kubeconfig ${file}: ${list} must be a list`);
      items.forEach((item: unknown, i) => {
        const named = item as Named<unknown> | null;
        if (!named || typeof named.name !== 'string')
          throw new KubeConfigError(`kubeconfig ${file}: ${list}[${i}] has no name`);
        const entry = (named[field] ?? {}) as Record<string, unknown>;
        const target = merged[list] as Map<
          string,
          { entry: Record<string, unknown>; dir: string; file: string }
        >;
        if (!target.has(named.name)) target.set(named.name, { entry, dir, file });
      });
    }
  }
  return merged;
}

/** A kubeconfig from memory: checked against a policy, delegated auth loaded from its text. */
interface InMemory {
  policy: KubeConfigPolicy;
  text: string;
  dir: string;
}

const FILE_FIELDS = {
  cluster: ['certificate-authority'],
  user: ['client-certificate', 'client-key', 'tokenFile'],
} as const;

function accessFor(merged: Merged, contextOverride: string | undefined, memory?: InMemory): ClusterAccess {
  const where = merged.files.join(delimiter);
  const contextName = contextOverride ?? merged.currentContext;
  if (!contextName) throw new KubeConfigError(`kubeconfig ${where} has no current-context`);
  const context = merged.contexts.get(contextName);
  if (!context) throw new KubeConfigError(`context "${contextName}" not found in kubeconfig ${where}`);
  const clusterName = str(context.entry.cluster);
  const cluster = clusterName ? merged.clusters.get(clusterName) : undefined;
  if (!cluster)
    throw new KubeConfigError(
      `context "${contextName}": cluster "${clusterName ?? ''}" not found in kubeconfig ${where}`,
    );
  const userName = str(context.entry.user);
  const user = userName ? merged.users.get(userName) : undefined;
  if (userName && !user)
    throw new KubeConfigError(
      `context "${contextName}": user "${userName}" not found in kubeconfig ${where}`,
    );

  const c = cluster.entry;
  if (memory) {
    // In memory, `file` is the Secret's name and `dir` meaningless: references resolve elsewhere.
    cluster.dir = memory.dir;
    if (user) user.dir = memory.dir;
    checkPolicy(memory.policy, where, contextName, c, user?.entry ?? {});
  }
  const serverText = str(c.server);
  if (!serverText) throw new KubeConfigError(`cluster "${clusterName}" in ${cluster.file} has no server`);
  let server: URL;
  try {
    server = new URL(serverText);
  } catch {
    throw new KubeConfigError(
      `cluster "${clusterName}" in ${cluster.file}: server "${serverText}" is not a URL`,
    );
  }
  const field = (owner: string, name: string) => `${owner} in ${cluster.file}: ${name}`;
  const ca = dataOrFile(
    c['certificate-authority-data'],
    c['certificate-authority'],
    cluster.dir,
    field(`cluster "${clusterName}"`, 'certificate-authority'),
  );
  const u = user?.entry ?? {};
  const userWhere = user ? `user "${userName}" in ${user.file}` : '';
  const cert = user
    ? dataOrFile(
        u['client-certificate-data'],
        u['client-certificate'],
        user.dir,
        `${userWhere}: client-certificate`,
      )
    : undefined;
  const key = user
    ? dataOrFile(u['client-key-data'], u['client-key'], user.dir, `${userWhere}: client-key`)
    : undefined;
  const base = {
    server,
    ca,
    cert,
    key,
    insecureSkipTlsVerify: c['insecure-skip-tls-verify'] === true,
    tlsServerName: str(c['tls-server-name']),
    namespace: str(context.entry.namespace),
    context: contextName,
  };
  if (u.exec || u['auth-provider']) {
    // Cloud logins (EKS, GKE, AKS, OIDC): client-node runs them, loaded only for such a user.
    return {
      ...base,
      auth: delegatedAuth(
        (config) => (memory ? config.loadFromString(memory.text) : loadFiles(config, merged.files)),
        contextName,
      ),
    };
  }
  const headers: Record<string, string> = {};
  const token = str(u.token);
  const tokenFile = str(u.tokenFile);
  const username = str(u.username);
  const basic = username !== undefined ? `${username}:${str(u.password) ?? ''}` : undefined;
  if (typeof u.as === 'string' && u.as) headers['Impersonate-User'] = u.as;
  return {
    ...base,
    async auth() {
      const h = { ...headers };
      const bearer = tokenFile
        ? readTokenFile(resolvePath(tokenFile, user!.dir), `${userWhere}: tokenFile`)
        : token;
      if (bearer) h.Authorization = `Bearer ${bearer}`;
      return { headers: h, basic };
    },
  };
}

function inClusterAccess(env: NodeJS.ProcessEnv, saDir: string): ClusterAccess {
  const host = env.KUBERNETES_SERVICE_HOST!;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const server = new URL(`https://${host.includes(':') ? `[${host}]` : host}:${port}`);
  const caFile = join(saDir, 'ca.crt');
  const nsFile = join(saDir, 'namespace');
  return {
    server,
    ca: existsSync(caFile) ? readFileSync(caFile) : undefined,
    insecureSkipTlsVerify: false,
    namespace: existsSync(nsFile) ? readFileSync(nsFile, 'utf8').trim() : undefined,
    context: 'in-cluster',
    // The projected token rotates: read it again on each refresh.
    async auth() {
      const token = readTokenFile(join(saDir, 'token'), 'service account token');
      return { headers: { Authorization: `Bearer ${token}` }, basic: undefined };
    },
  };
}

type ClientNodeConfig = InstanceType<(typeof import('@kubernetes/client-node'))['KubeConfig']>;

function loadFiles(config: ClientNodeConfig, files: string[]): void {
  config.loadFromFile(files[0]!);
  for (const f of files.slice(1)) {
    const more = new (config.constructor as new () => ClientNodeConfig)();
    more.loadFromFile(f);
    config.mergeConfig(more, true);
  }
}

/** Refuses what the policy does not allow, naming the field (never its value). */
function checkPolicy(
  policy: KubeConfigPolicy,
  where: string,
  context: string,
  cluster: Record<string, unknown>,
  user: Record<string, unknown>,
): void {
  const refused: string[] = [];
  if (!policy.allowExec) {
    if (user.exec) refused.push('user.exec (an exec plugin; allow with --allow-kubeconfig-exec)');
    if (user['auth-provider']) refused.push('user.auth-provider (allow with --allow-kubeconfig-exec)');
  }
  if (!policy.allowFiles) {
    for (const f of FILE_FIELDS.cluster)
      if (cluster[f]) refused.push(`cluster.${f} (a file path; allow with --allow-kubeconfig-files)`);
    for (const f of FILE_FIELDS.user)
      if (user[f]) refused.push(`user.${f} (a file path; allow with --allow-kubeconfig-files)`);
  }
  if (refused.length)
    throw new KubeConfigError(`kubeconfig ${where}, context "${context}": refused ${refused.join(', ')}`);
}

function delegatedAuth(
  load: (config: ClientNodeConfig) => void,
  context: string,
): () => Promise<RequestAuth> {
  let kc: Promise<{ applyToHTTPSOptions(o: object): Promise<void> }> | undefined;
  return async () => {
    kc ??= import('@kubernetes/client-node').then(({ KubeConfig }) => {
      const config = new KubeConfig();
      load(config);
      config.setCurrentContext(context);
      return config;
    });
    const opts: { headers?: Record<string, unknown>; auth?: unknown; cert?: unknown; key?: unknown } = {};
    await (await kc).applyToHTTPSOptions(opts);
    const pem = (v: unknown) => (typeof v === 'string' || Buffer.isBuffer(v) ? String(v) : undefined);
    return {
      headers: Object.fromEntries(Object.entries(opts.headers ?? {}).map(([k, v]) => [k, String(v)])),
      basic: typeof opts.auth === 'string' ? opts.auth : undefined,
      cert: pem(opts.cert),
      key: pem(opts.key),
    };
  };
}

function dataOrFile(data: unknown, file: unknown, dir: string, what: string): Buffer | undefined {
  if (typeof data === 'string' && data) return Buffer.from(data, 'base64');
  if (typeof file === 'string' && file) {
    const path = resolvePath(file, dir);
    try {
      return readFileSync(path);
    } catch (err) {
      throw new KubeConfigError(
        `${what}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      );
    }
  }
  return undefined;
}

function readTokenFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new KubeConfigError(
      `${what}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
}

/** Relative paths in a kubeconfig are relative to the file that holds them (as kubectl). */
function resolvePath(path: string, dir: string): string {
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  return isAbsolute(path) ? path : join(dir, path);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
