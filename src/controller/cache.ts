// The GitSources this process watches, as last seen; shared by the controller (which fills it from
// the watch) and whatever reads GitSources (dependsOn lookups, receivers, status pages).
import type { GitSource } from '../api/index.ts';
import type { KubeClient } from '../kube/index.ts';
import { gitSourceListPath } from './paths.ts';

export class GitSourceCache {
  private readonly byKey = new Map<string, GitSource>();
  private readonly listeners = new Set<(key: string) => void>();
  /** key → resourceVersions this process's own writes produced since the key's run began. */
  private readonly ownVersions = new Map<string, Set<string>>();

  constructor(
    private readonly client: KubeClient,
    /** The one namespace watched (sharding); all namespaces when unset. */
    private readonly namespace?: string | undefined,
  ) {}

  get(key: string): GitSource | undefined {
    return this.byKey.get(key);
  }

  set(key: string, gs: GitSource): void {
    // managedFields are never read here and are often the largest part of an object: with thousands
    // of GitSources they would be most of what this cache holds.
    const meta = gs.metadata as GitSource['metadata'] & { managedFields?: unknown };
    if (meta.managedFields !== undefined) delete meta.managedFields;
    this.byKey.set(key, gs);
    this.changed(key);
  }

  /** A write of ours landed: the watch will bring this version back, older than what the run holds. */
  noteOwnWrite(gs: GitSource): void {
    const key = `${gs.metadata.namespace}/${gs.metadata.name}`;
    const version = gs.metadata.resourceVersion;
    if (version === undefined) return;
    let versions = this.ownVersions.get(key);
    if (!versions) this.ownVersions.set(key, (versions = new Set()));
    versions.add(version);
  }

  /** The versions our writes produced since the last call for `key` (and forgets them). */
  takeOwnWrites(key: string): ReadonlySet<string> {
    const versions = this.ownVersions.get(key) ?? new Set<string>();
    this.ownVersions.delete(key);
    return versions;
  }

  delete(key: string): void {
    this.ownVersions.delete(key);
    this.byKey.delete(key);
    this.changed(key);
  }

  /**
   * `listener(namespace/name)` runs after each set or delete (a watch event or our own status
   * write), synchronously: keep it cheap (the status page only marks the key). Returns an unsubscribe.
   */
  onChange(listener: (key: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(key: string): void {
    for (const listener of this.listeners) {
      try {
        listener(key);
      } catch {
        // A reader's failure must never disturb the controller.
      }
    }
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  keys(): IterableIterator<string> {
    return this.byKey.keys();
  }

  values(): IterableIterator<GitSource> {
    return this.byKey.values();
  }

  /** A GitSource by name, for dependsOn: the cached copy, or a GET when it lives outside what we watch. */
  async lookup(namespace: string, name: string): Promise<GitSource | undefined> {
    const cached = this.byKey.get(`${namespace}/${name}`);
    if (cached) return cached;
    if (this.namespace && this.namespace !== namespace) {
      try {
        return await this.client.request<GitSource>('GET', `${gitSourceListPath(namespace)}/${name}`);
      } catch {
        return undefined;
      }
    }
    return undefined;
  }
}
