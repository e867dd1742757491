// What every CLI command shares: global flags, the kubeconfig → KubeClient, the namespace, GitSource reads and patches.
import { ANNOTATION_REQUESTED_AT, type GitSource } from '../api/index.ts';
import { gitSourceListPath, gitSourcePath } from '../controller/index.ts';
import {
  ApiError,
  KubeClient,
  clusterAccessFromKubeConfig,
  loadClusterAccess,
  type ClusterAccess,
} from '../kube/index.ts';
import { CliError, type CliIO } from './command.ts';

export interface GlobalFlags {
  kubeconfig?: string | undefined;
  context?: string | undefined;
  namespace?: string | undefined;
  allNamespaces: boolean;
  output?: 'json' | 'yaml' | undefined;
}

/** A GitSource as listed: the API fields the CLI shows beyond the typed ones. */
export type ListedGitSource = GitSource & { metadata: { creationTimestamp?: string } };

export class CliContext {
  private access: ClusterAccess | undefined;
  private clientPromise: Promise<KubeClient> | undefined;
  /** Clients of GitSources' target clusters (spec.kubeConfig), closed with this context. */
  private readonly remotes: KubeClient[] = [];

  constructor(
    readonly io: CliIO,
    readonly flags: GlobalFlags,
  ) {}

  out(text: string): void {
    this.io.stdout.write(text);
  }

  err(text: string): void {
    this.io.stderr.write(text);
  }

  /** The kubeconfig as kubectl reads it: --kubeconfig, else $KUBECONFIG, else ~/.kube/config (or in-cluster). */
  kubeConfig(): ClusterAccess {
    if (this.access) return this.access;
    try {
      this.access = loadClusterAccess({ path: this.flags.kubeconfig, context: this.flags.context });
    } catch (err) {
      throw new CliError(
        `cannot load kubeconfig ${this.flags.kubeconfig ?? '(default)'}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    return this.access;
  }

  client(): Promise<KubeClient> {
    this.clientPromise ??= KubeClient.connect(this.kubeConfig(), {
      userAgent: 'converge-cli',
      timeoutMs: 30_000,
    }).catch((err: unknown) => {
      throw new CliError(`cannot use the kubeconfig: ${err instanceof Error ? err.message : String(err)}`);
    });
    return this.clientPromise;
  }

  /**
   * The client of the cluster a GitSource applies to: its spec.kubeConfig Secret (read with your
   * credentials, in its namespace), else this kubeconfig's cluster. As in the operator, kubeconfigs
   * with exec plugins, auth providers or file paths are refused: they would run on this machine.
   */
  async targetClient(gs: GitSource): Promise<KubeClient> {
    const ref = gs.spec?.kubeConfig?.secretRef;
    if (!ref) return this.client();
    const key = ref.key ?? 'value';
    const where = `secret ${gs.metadata.namespace}/${ref.name} key ${key}`;
    const client = await this.client();
    let secret: { data?: Record<string, string> };
    try {
      secret = await client.request(
        'GET',
        `/api/v1/namespaces/${gs.metadata.namespace}/secrets/${encodeURIComponent(ref.name)}`,
      );
    } catch (err) {
      throw notFoundAs(err, `${where} (spec.kubeConfig) not found`);
    }
    const value = secret.data?.[key];
    if (!value) throw new CliError(`${where} (spec.kubeConfig) has no such key`);
    try {
      const access = clusterAccessFromKubeConfig(Buffer.from(value, 'base64').toString('utf8'), where, {
        allowExec: false,
        allowFiles: false,
      });
      const remote = await KubeClient.connect(access, { userAgent: 'converge-cli', timeoutMs: 30_000 });
      this.remotes.push(remote);
      return remote;
    } catch (err) {
      throw new CliError(`cannot use ${where}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** -n, else the kubeconfig context's namespace, else `default` (as kubectl). */
  namespace(): string {
    if (this.flags.namespace) return this.flags.namespace;
    return this.kubeConfig().namespace || 'default';
  }

  /** -n, else the context's namespace when a kubeconfig loads, else `default`: for commands that need no cluster. */
  namespaceWithoutCluster(): string {
    if (this.flags.namespace) return this.flags.namespace;
    try {
      return this.namespace();
    } catch {
      return 'default';
    }
  }

  async getGitSource(name: string, namespace = this.namespace()): Promise<ListedGitSource> {
    const client = await this.client();
    try {
      return await client.request<ListedGitSource>('GET', gitSourcePath(namespace, name));
    } catch (err) {
      throw notFoundAs(err, `gitsource ${namespace}/${name} not found`);
    }
  }

  async listGitSources(namespace: string | undefined): Promise<ListedGitSource[]> {
    const client = await this.client();
    try {
      return (await client.list<ListedGitSource>(gitSourceListPath(namespace))).items;
    } catch (err) {
      throw notFoundAs(err, `cannot list gitsources`);
    }
  }

  /** JSON merge patch of a GitSource (spec fields, annotations); returns the updated object. */
  async patchGitSource(name: string, patch: unknown, namespace = this.namespace()): Promise<ListedGitSource> {
    const client = await this.client();
    try {
      return await client.request<ListedGitSource>('PATCH', gitSourcePath(namespace, name), {
        body: patch,
        contentType: 'application/merge-patch+json',
      });
    } catch (err) {
      throw notFoundAs(err, `gitsource ${namespace}/${name} not found`);
    }
  }

  /** Sets the requested-at annotation to a new value (now, to the millisecond): the operator reconciles at once. */
  async requestReconcile(name: string, namespace = this.namespace()): Promise<string> {
    const at = this.io.now().toISOString();
    await this.patchGitSource(
      name,
      { metadata: { annotations: { [ANNOTATION_REQUESTED_AT]: at } } },
      namespace,
    );
    return at;
  }

  close(): void {
    for (const c of this.remotes) c.close();
    void this.clientPromise?.then(
      (c) => c.close(),
      () => undefined,
    );
  }
}

/** A 404 as a one-line CliError; a missing CRD (the collection itself 404s) says so. */
function notFoundAs(err: unknown, message: string): unknown {
  if (!(err instanceof ApiError) || err.status !== 404) return err;
  if (/could not find the requested resource/.test(err.message))
    return new CliError(
      'the GitSource CRD (gitsources.gitops.converge.dev) is not installed in this cluster; run `converge check`',
    );
  return new CliError(message);
}
