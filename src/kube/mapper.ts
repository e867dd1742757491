// RestMapper: (group, version, kind) → (resource, namespaced) from API discovery, cached, refreshed on a miss.
import { ConvergeError } from '../api/index.ts';
import type { RequestOptions } from './client.ts';
import type { GroupVersionKind, RestMapping } from './paths.ts';

interface Requester {
  request<T = unknown>(method: string, path: string, opts?: RequestOptions): Promise<T>;
}

/** The kind is not served by the API server (a CRD that is not installed, or a typo). */
export class UnknownKindError extends ConvergeError {
  constructor(readonly gvk: GroupVersionKind) {
    const where = gvk.group ? `group ${gvk.group}/${gvk.version}` : `core API version ${gvk.version}`;
    super('ApplyFailed', `no kind ${gvk.kind} in ${where}: is its CRD installed?`);
  }
}

export interface RestMapperOptions {
  /** A miss triggers discovery at most this often (default 1000 ms), so a batch of unknown kinds costs one refresh. */
  minRefreshIntervalMs?: number;
}

const AGGREGATED = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json';

interface AggregatedList {
  kind?: string;
  items?: {
    metadata?: { name?: string };
    versions?: {
      version: string;
      resources?: { resource: string; scope: string; responseKind?: { kind?: string } }[];
    }[];
  }[];
}

export class RestMapper {
  private mappings: Map<string, RestMapping> | undefined;
  private loading: Promise<Map<string, RestMapping>> | undefined;
  private loadedAt = 0;

  constructor(
    private readonly client: Requester,
    private readonly opts: RestMapperOptions = {},
  ) {}

  /** The mapping, refreshing discovery once on a miss; UnknownKindError when the kind is not served. */
  async mappingFor(gvk: GroupVersionKind): Promise<RestMapping> {
    const mapping = await this.tryMappingFor(gvk);
    if (!mapping) throw new UnknownKindError(gvk);
    return mapping;
  }

  /** The mapping, or undefined when the kind is not served even after a refresh. */
  async tryMappingFor(gvk: GroupVersionKind): Promise<RestMapping | undefined> {
    const key = keyOf(gvk);
    let mappings = this.mappings ?? (await this.load());
    let mapping = mappings.get(key);
    if (!mapping && Date.now() - this.loadedAt >= (this.opts.minRefreshIntervalMs ?? 1000)) {
      mappings = await this.load();
      mapping = mappings.get(key);
    }
    return mapping;
  }

  /** Rediscovers now, e.g. after a CRD became Established. */
  async refresh(): Promise<void> {
    this.loadedAt = 0;
    await this.load(true);
  }

  /** Forgets everything; the next lookup rediscovers. */
  reset(): void {
    this.mappings = undefined;
    this.loadedAt = 0;
  }

  private load(force = false): Promise<Map<string, RestMapping>> {
    if (this.loading && !force) return this.loading;
    const loading = discover(this.client).then(
      (mappings) => {
        this.mappings = mappings;
        this.loadedAt = Date.now();
        return mappings;
      },
      (err: unknown) => {
        throw new ConvergeError(
          'ApplyFailed',
          `API discovery failed: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        );
      },
    );
    const tracked: Promise<Map<string, RestMapping>> = loading.finally(() => {
      if (this.loading === tracked) this.loading = undefined;
    });
    this.loading = tracked;
    return tracked;
  }
}

function keyOf(gvk: GroupVersionKind): string {
  return `${gvk.group}/${gvk.version}/${gvk.kind}`;
}

async function discover(client: Requester): Promise<Map<string, RestMapping>> {
  const out = new Map<string, RestMapping>();
  const add = (m: RestMapping) => {
    const key = keyOf(m);
    if (!out.has(key)) out.set(key, m);
  };
  const [core, groups] = await Promise.all([
    client.request<AggregatedList & { versions?: string[] }>('GET', '/api', { accept: AGGREGATED }),
    client.request<AggregatedList & { groups?: { name: string; versions: { version: string }[] }[] }>(
      'GET',
      '/apis',
      { accept: AGGREGATED },
    ),
  ]);
  if (core.kind === 'APIGroupDiscoveryList' && groups.kind === 'APIGroupDiscoveryList') {
    for (const item of [...(core.items ?? []), ...(groups.items ?? [])]) {
      const group = item.metadata?.name ?? '';
      for (const v of item.versions ?? []) {
        for (const r of v.resources ?? []) {
          if (!r.responseKind?.kind || r.resource.includes('/')) continue;
          add({
            group,
            version: v.version,
            kind: r.responseKind.kind,
            resource: r.resource,
            namespaced: r.scope === 'Namespaced',
          });
        }
      }
    }
    return out;
  }
  // Servers before aggregated discovery (< 1.26): one request per group version.
  const groupVersions: [string, string][] = (core.versions ?? []).map((v) => ['', v]);
  for (const g of groups.groups ?? []) for (const v of g.versions) groupVersions.push([g.name, v.version]);
  await Promise.all(
    groupVersions.map(async ([group, version]) => {
      const path = group ? `/apis/${group}/${version}` : `/api/${version}`;
      const list = await client
        .request<{ resources?: { name: string; kind: string; namespaced: boolean }[] }>('GET', path)
        .catch(() => ({ resources: [] }));
      for (const r of list.resources ?? []) {
        if (r.name.includes('/')) continue;
        add({ group, version, kind: r.kind, resource: r.name, namespaced: r.namespaced });
      }
    }),
  );
  return out;
}
