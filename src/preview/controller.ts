// Pull-request previews (spec.previews): every interval, and at once on a pull-request webhook, lists
// the open pull requests into a GitSource's branch; for each new head it renders and plans it against
// the live cluster as `converge diff` does, keeps one comment and one commit status per GitSource up
// to date, and in Deploy mode runs the head as a preview GitSource in its own namespace, deleted when
// the pull request closes. Leader only; never blocks a reconcile (its own queue and timers).
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import {
  API_VERSION,
  KIND,
  LABEL_NAME,
  LABEL_NAMESPACE,
  LABEL_PREVIEW_NUMBER,
  LABEL_PREVIEW_OF,
  PREVIEW_FIELD_MANAGER,
  inventoryEntries,
  parseDuration,
  parseSpec,
  sanitizeMessage,
  type GitSource,
  type GitSourceSpec,
  type KubeObject,
  type PreviewStatus,
  type PreviewsSpec,
} from '../api/index.ts';
import { classifyObjects } from '../hooks/index.ts';
import { isNotFound, type KubeClient } from '../kube/index.ts';
import { planChanges, type ChangeSet } from '../plan/index.ts';
import { parseRepository } from '../notify/index.ts';
import { sourceKeyOf, sourceOf, type Fetcher, type SourceSecret } from '../source/index.ts';
import { commentMarker, previewSummary, renderComment } from './comment.ts';
import {
  deployEligibility,
  escapes,
  needsWork,
  previewNamespace,
  previewSourceName,
  previewSpec,
  renderDigest,
  samePreviews,
  selectPulls,
  sortPreviews,
  type Eligibility,
} from './decide.ts';
import {
  HOSTS,
  type HostAnswer,
  type HostRequest,
  type HostTarget,
  type PreviewHost,
  type PullRequest,
} from './hosts/index.ts';

export interface PreviewDeps {
  client: KubeClient;
  source: Fetcher;
  /** Renders a checkout with a GitSource's spec, exactly as the reconcile does (sandboxed, no network). */
  render(gs: GitSource, spec: GitSourceSpec, dir: string, signal: AbortSignal): Promise<KubeObject[]>;
  /** The Secret of spec.secretRef (the reconcile's own reader). */
  credentials(gs: GitSource, spec: GitSourceSpec): Promise<SourceSecret | undefined>;
  /** The GitSources as the controller's cache has them. */
  gitSources(): Iterable<GitSource>;
  getGitSource(key: string): GitSource | undefined;
  logger: Logger;
  fetch?: typeof fetch;
  now?: () => number;
}

/** Context of commit statuses a preview sets: one per GitSource. */
export const previewContext = (gs: GitSource) =>
  `converge/preview/${gs.metadata.namespace}/${gs.metadata.name}`;

const keyOf = (gs: GitSource) => `${gs.metadata.namespace}/${gs.metadata.name}`;

export class PreviewController {
  private leading = false;
  private stopped = false;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  /** Pull request lists shared by GitSources of one repository and token, for 0.85 × interval. */
  private readonly pullLists = new Map<string, { at: number; pulls: Promise<PullRequest[]> }>();
  /** Render digests of base commits, by GitSource key and commit. */
  private readonly baseDigests = new Map<string, { commit: string; digest: string }>();
  /** The generation each GitSource was last seen with (a spec change syncs at once). */
  private readonly generations = new Map<string, number | undefined>();
  /** GitSources with previews whose branch has not been applied yet (previews start after it). */
  private readonly waitingForApply = new Set<string>();
  /** The last error per GitSource, logged once. */
  private readonly lastError = new Map<string, string>();
  private readonly fetchFn: typeof fetch;
  private readonly now: () => number;
  /** Host calls made (tests and the cost figures read it). */
  readonly stats = { listCalls: 0, renders: 0, comments: 0, statuses: 0 };

  constructor(private readonly deps: PreviewDeps) {
    this.fetchFn = deps.fetch ?? fetch;
    this.now = deps.now ?? Date.now;
  }

  setLeading(leading: boolean): void {
    this.leading = leading;
    if (leading) for (const gs of this.deps.gitSources()) this.schedule(keyOf(gs), 0);
    else for (const t of this.timers.values()) clearTimeout(t);
  }

  /** A GitSource changed (cache event): previews start, stop, or a preview GitSource moved. */
  changed(key: string): void {
    if (!this.leading) return;
    const gs = this.deps.getGitSource(key);
    const parent = gs?.metadata.labels?.[LABEL_PREVIEW_OF];
    if (gs && parent) {
      // A preview GitSource's Ready moved: its parent's status and commit status follow.
      this.schedule(`${gs.metadata.namespace}/${parent}`, 200);
      return;
    }
    if (this.waitingForApply.has(key) && gs?.status?.lastAppliedRevision) {
      this.schedule(key, 0);
      return;
    }
    // Most GitSources have no previews: their status writes cost nothing here.
    if (!gs?.spec?.previews && !gs?.status?.previews?.length) return;
    // A new spec (labels, mode, maxPreviews…) is taken up at once, not at the next interval.
    const generation = gs.metadata.generation;
    const seen = this.generations.has(key);
    if (this.generations.get(key) !== generation) {
      this.generations.set(key, generation);
      if (seen) {
        this.schedule(key, 0);
        return;
      }
    }
    if (!this.timers.has(key) && !this.running.has(key)) this.schedule(key, 0);
  }

  /** A pull-request webhook for these repository URLs: sync the matching GitSources now. */
  wake(matches: (gs: GitSource) => boolean): number {
    let n = 0;
    for (const gs of this.deps.gitSources()) {
      if (!gs.spec?.previews || !matches(gs)) continue;
      // The webhook says the list moved: do not answer from the shared list.
      this.pullLists.clear();
      this.schedule(keyOf(gs), 0);
      n++;
    }
    return n;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private schedule(key: string, afterMs: number): void {
    if (this.stopped || !this.leading) return;
    const old = this.timers.get(key);
    if (old) clearTimeout(old);
    const t = setTimeout(() => {
      this.timers.delete(key);
      this.run(key);
    }, afterMs);
    t.unref();
    this.timers.set(key, t);
  }

  private run(key: string): void {
    if (this.running.has(key)) {
      this.again.add(key);
      return;
    }
    const gs = this.deps.getGitSource(key);
    if (!gs) return;
    const p = this.sync(structuredClone(gs))
      .catch((err: unknown) => this.reportError(gs, err))
      .finally(() => {
        this.running.delete(key);
        const current = this.deps.getGitSource(key);
        if (!current?.spec?.previews && !this.again.has(key)) return;
        const interval = safeDuration(current?.spec?.interval, 60_000);
        this.schedule(key, this.again.delete(key) ? 0 : interval);
      });
    this.running.set(key, p);
  }

  private reportError(gs: GitSource, err: unknown): void {
    const message = sanitizeMessage(err instanceof Error ? err.message : String(err));
    if (this.lastError.get(keyOf(gs)) === message) return;
    this.lastError.set(keyOf(gs), message);
    this.deps.logger.warn({ gitsource: keyOf(gs), err: message }, 'pull-request previews failed');
  }

  /** One pass for one GitSource. */
  async sync(gs: GitSource): Promise<void> {
    const parsed = parseSpec(gs.spec);
    if (!parsed.ok || gs.metadata.labels?.[LABEL_PREVIEW_OF]) return;
    const spec = parsed.spec;
    const previews = spec.previews;
    if (!previews) {
      // Previews turned off (or never on): what earlier passes deployed goes.
      if (gs.status?.previews?.length) {
        await this.removeDeployments(gs, new Set());
        await this.writeStatus(gs, []);
      }
      return;
    }
    // A diff against a cluster the branch itself has not reached yet would show the branch's own changes.
    if (!gs.status?.lastAppliedRevision) {
      this.waitingForApply.add(keyOf(gs));
      return;
    }
    this.waitingForApply.delete(keyOf(gs));
    const branch = spec.ref?.branch ?? (spec.ref ? undefined : 'main');
    if (!branch)
      throw new Error('spec.previews needs spec.ref.branch: previews are pull requests into a branch');
    const host = HOSTS[previews.provider];
    const target = await this.targetOf(gs, spec, previews, host);
    const pulls = selectPulls(await this.listPulls(host, target, branch, spec), previews);
    const eligibility = deployEligibility(pulls, previews);
    const previous = new Map((gs.status?.previews ?? []).map((p) => [p.number, p]));
    const next: PreviewStatus[] = [];
    for (const pr of pulls) {
      const before = previous.get(pr.number);
      const elig = eligibility.get(pr.number);
      if (!needsWork(pr, before, elig)) {
        next.push(await this.refreshDeployed(gs, host, target, pr, before!));
        continue;
      }
      next.push(await this.preview(gs, spec, previews, host, target, pr, before, elig));
    }
    await this.removeDeployments(gs, new Set(next.filter((p) => p.namespace).map((p) => p.number)));
    for (const number of previous.keys())
      if (!pulls.some((p) => p.number === number))
        await this.deps.source.forget(`${gs.metadata.uid}/pr/${number}`);
    for (const p of next)
      if (
        !previous.has(p.number) ||
        previous.get(p.number)!.head !== p.head ||
        previous.get(p.number)!.state !== p.state
      )
        this.deps.logger.info(
          { gitsource: keyOf(gs), pr: p.number, head: p.head, state: p.state },
          'pull request preview',
        );
    await this.writeStatus(gs, sortPreviews(next));
    this.lastError.delete(keyOf(gs));
  }

  private async targetOf(
    gs: GitSource,
    spec: GitSourceSpec,
    previews: PreviewsSpec,
    host: PreviewHost,
  ): Promise<HostTarget> {
    if (!spec.url || sourceOf(spec).kind !== 'git')
      throw new Error(
        'spec.previews needs a Git source: spec.url of a Git repository, without spec.chart (charts, OCI artifacts and buckets have no pull requests)',
      );
    const repo = parseRepository(spec.url);
    if (!repo) throw new Error(`cannot tell owner/repository from spec.url ${spec.url}`);
    const secret = await this.readSecret(gs.metadata.namespace, previews.secretRef.name);
    const credentials = { token: secret.token, username: secret.username, password: secret.password };
    if (!credentials.token && !(credentials.username && credentials.password))
      throw new Error(
        `secret ${gs.metadata.namespace}/${previews.secretRef.name} (spec.previews.secretRef) has no \`token\` (or \`username\` + \`password\`)`,
      );
    const api = previews.address?.replace(/\/+$/, '') ?? host.apiBase(`${repo.scheme}://${repo.host}`);
    return { api, owner: repo.owner, name: repo.name, credentials };
  }

  private async readSecret(namespace: string, name: string): Promise<Record<string, string | undefined>> {
    let secret: { data?: Record<string, string> };
    try {
      secret = await this.deps.client.request('GET', `/api/v1/namespaces/${namespace}/secrets/${name}`);
    } catch (err) {
      if (isNotFound(err))
        throw new Error(`secret ${namespace}/${name} (spec.previews.secretRef.name) not found`, {
          cause: err,
        });
      throw err;
    }
    return Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([k, v]) => [
        k,
        Buffer.from(v, 'base64').toString('utf8').trim(),
      ]),
    );
  }

  /** Open pull requests into `branch`, all pages; one list per repository and token per 0.85 × interval. */
  private listPulls(
    host: PreviewHost,
    t: HostTarget,
    branch: string,
    spec: GitSourceSpec,
  ): Promise<PullRequest[]> {
    const who = createHash('sha256')
      .update(JSON.stringify([host.name, t.api, t.owner, t.name, branch, t.credentials]))
      .digest('hex');
    const maxAge = 0.85 * safeDuration(spec.interval, 60_000);
    const cached = this.pullLists.get(who);
    if (cached && this.now() - cached.at < maxAge) return cached.pulls;
    const pulls = (async () => {
      const out: PullRequest[] = [];
      let req: HostRequest | undefined = host.listPulls(t, branch);
      for (let page = 0; req && page < 20; page++) {
        this.stats.listCalls++;
        const answer = await this.call(req, 'listing pull requests');
        const parsed = host.parsePulls(answer);
        out.push(...parsed.items.filter((p) => p.base === branch));
        req = parsed.next && parsed.items.length > 0 ? host.page(t, parsed.next) : undefined;
      }
      return out;
    })();
    this.pullLists.set(who, { at: this.now(), pulls });
    pulls.catch(() => this.pullLists.delete(who));
    return pulls;
  }

  /** One pull request at a new head: render, plan, comment, status, and deploy when allowed. */
  private async preview(
    gs: GitSource,
    spec: GitSourceSpec,
    previews: PreviewsSpec,
    host: PreviewHost,
    t: HostTarget,
    pr: PullRequest,
    before: PreviewStatus | undefined,
    elig: Eligibility | undefined,
  ): Promise<PreviewStatus> {
    const ns =
      previews.mode === 'Deploy'
        ? previewNamespace(previews.namespaceTemplate, gs.metadata.name, pr.number)
        : undefined;
    const deploy = elig?.deploy === true && ns !== undefined;
    const base: PreviewStatus = { number: pr.number, head: pr.head, state: 'Diffed', url: pr.url };
    let changeSet: ChangeSet | undefined;
    let error: string | undefined;
    let objects: KubeObject[];
    const signal = AbortSignal.timeout(safeDuration(spec.timeout, 120_000));
    try {
      if (!/^[0-9a-f]{40}$/.test(pr.head))
        throw new Error(`the host gave no full head commit for #${pr.number}`);
      objects = await this.renderAt(gs, spec, pr.head, `pr/${pr.number}`, signal, deploy ? ns : undefined);
      // A head that renders what the base renders changes nothing here: no comment, no status.
      if (!before && !deploy) {
        const baseDigest = await this.baseDigest(gs, spec, signal);
        if (baseDigest !== undefined && baseDigest === renderDigest(objects))
          return { ...base, state: 'Unaffected', message: 'renders the same objects as the branch' };
      }
      if (deploy) {
        const outside = escapes(objects, ns, (o) => this.isNamespaced(o));
        if (outside.length)
          throw new Error(
            `a preview stays in its namespace: ${outside.slice(0, 5).join('; ')}${outside.length > 5 ? ` (+${outside.length - 5} more)` : ''}`,
          );
      }
      // Deploy: the namespace (and the ServiceAccount's binding there) exists before the dry-run.
      if (deploy) await this.prepareNamespace(gs, spec, pr, ns);
      changeSet = await this.plan(gs, spec, objects, deploy ? ns : undefined, pr.number, signal);
    } catch (err) {
      error = sanitizeMessage(err instanceof Error ? err.message : String(err));
      this.deps.logger.info(
        { gitsource: keyOf(gs), pr: pr.number, head: pr.head, err: error },
        'preview failed',
      );
    }
    const deployment = deploy
      ? `Deploying into namespace \`${ns}\` as preview GitSource \`${previewSourceName(gs.metadata.name, pr.number)}\`.`
      : elig && !elig.deploy
        ? `Not deployed: ${elig.message}.`
        : undefined;
    await this.upsertComment(
      host,
      t,
      pr,
      gs,
      renderComment({
        namespace: gs.metadata.namespace,
        name: gs.metadata.name,
        head: pr.head,
        changeSet,
        error,
        deployment,
        maxLength: host.maxCommentLength,
      }),
    );
    if (error !== undefined) {
      await this.setStatus(host, t, gs, pr, 'failure', error);
      return { ...base, state: 'Failed', message: error.slice(0, 300) };
    }
    const summary = previewSummary(changeSet!);
    if (!deploy) {
      await this.setStatus(host, t, gs, pr, 'success', summary);
      if (elig && !elig.deploy) return { ...base, state: elig.state, message: elig.message };
      return { ...base, message: summary };
    }
    await this.deployPreview(gs, spec, pr, ns);
    await this.setStatus(host, t, gs, pr, 'pending', `deploying into ${ns}: ${summary}`);
    return { ...base, state: 'Deploying', namespace: ns, message: summary };
  }

  /** A deployed preview at an unchanged head: its state follows the preview GitSource's Ready. */
  private async refreshDeployed(
    gs: GitSource,
    host: PreviewHost,
    t: HostTarget,
    pr: PullRequest,
    before: PreviewStatus,
  ): Promise<PreviewStatus> {
    if (before.state !== 'Deploying' || !before.namespace) return before;
    const child = this.deps.getGitSource(
      `${gs.metadata.namespace}/${previewSourceName(gs.metadata.name, pr.number)}`,
    );
    const ready = child?.status?.conditions?.find((c) => c.type === 'Ready');
    const atHead = child?.status?.lastAttemptedRevision?.endsWith(pr.head) === true;
    if (!ready || !atHead || ready.reason === 'Progressing') return before;
    if (ready.status === 'True') {
      await this.setStatus(host, t, gs, pr, 'success', `deployed into ${before.namespace}`);
      return { ...before, state: 'Deployed' };
    }
    if (ready.status === 'False') {
      const message = sanitizeMessage(`${ready.reason}: ${ready.message}`).slice(0, 300);
      await this.setStatus(host, t, gs, pr, 'failure', message);
      return { ...before, state: 'Failed', message };
    }
    return before;
  }

  private isNamespaced(o: KubeObject): boolean {
    // Unknown kinds were refused by the plan's REST mapping already; here only the scope matters.
    return this.scopes.get(`${o.apiVersion}/${o.kind}`) ?? true;
  }
  private readonly scopes = new Map<string, boolean>();

  private async learnScopes(objects: readonly KubeObject[]): Promise<void> {
    for (const o of objects) {
      const key = `${o.apiVersion}/${o.kind}`;
      if (this.scopes.has(key)) continue;
      const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
      const mapping = await this.deps.client.mapper.tryMappingFor({
        group: group!,
        version: version!,
        kind: o.kind,
      });
      if (mapping) this.scopes.set(key, mapping.namespaced);
    }
  }

  /** The head's checkout rendered with the GitSource's spec (into the preview namespace in Deploy mode). */
  private async renderAt(
    gs: GitSource,
    spec: GitSourceSpec,
    commit: string,
    cache: string,
    signal: AbortSignal,
    namespace: string | undefined,
  ): Promise<KubeObject[]> {
    const secret = await this.deps.credentials(gs, spec);
    const fetched = await this.deps.source.fetchRevision({
      // One cache per pull request (and one for the base), fetched commit by commit.
      key: sourceKeyOf(gs.metadata.namespace, { ...spec, ref: { branch: `converge-preview/${cache}` } }),
      owner: `${gs.metadata.uid}/${cache}`,
      source: { kind: 'git', url: spec.url!, ref: { commit } },
      secret,
      timeoutMs: 60_000,
    });
    try {
      this.stats.renders++;
      const objects = await this.deps.render(
        gs,
        namespace ? { ...spec, targetNamespace: namespace } : spec,
        fetched.dir,
        signal,
      );
      await this.learnScopes(objects);
      return objects;
    } finally {
      fetched.release();
    }
  }

  /** What the branch's applied commit renders to, once per commit. */
  private async baseDigest(
    gs: GitSource,
    spec: GitSourceSpec,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    const commit = /sha1:([0-9a-f]{40})$/.exec(gs.status?.lastAppliedRevision ?? '')?.[1];
    if (!commit) return undefined;
    const cached = this.baseDigests.get(keyOf(gs));
    if (cached?.commit === commit) return cached.digest;
    try {
      const digest = renderDigest(await this.renderAt(gs, spec, commit, 'base', signal, undefined));
      this.baseDigests.set(keyOf(gs), { commit, digest });
      return digest;
    } catch {
      return undefined;
    }
  }

  private async plan(
    gs: GitSource,
    spec: GitSourceSpec,
    objects: KubeObject[],
    namespace: string | undefined,
    number: number,
    signal: AbortSignal,
  ): Promise<ChangeSet> {
    // Diff plans as the GitSource applies; a Deploy preview's dry-run runs in the namespace the operator
    // just made (the preview GitSource then applies as the ServiceAccount and reports its own failures).
    const client =
      spec.serviceAccountName && !namespace
        ? this.deps.client.impersonating(
            `system:serviceaccount:${gs.metadata.namespace}:${spec.serviceAccountName}`,
          )
        : this.deps.client;
    const managed = classifyObjects(objects, { install: !gs.status?.lastAppliedRevision }).managed;
    const child = namespace
      ? this.deps.getGitSource(`${gs.metadata.namespace}/${previewSourceName(gs.metadata.name, number)}`)
      : undefined;
    const changeSet = await planChanges(client, client.mapper, managed, {
      owner: namespace
        ? { name: previewSourceName(gs.metadata.name, number), namespace: gs.metadata.namespace }
        : { name: gs.metadata.name, namespace: gs.metadata.namespace },
      ignore: spec.ignore,
      inventory: namespace ? inventoryEntries(child?.status) : inventoryEntries(gs.status),
      force: spec.force,
      withObjects: true,
      signal,
    });
    if (!spec.prune) changeSet.stale = [];
    return changeSet;
  }

  /** The preview's namespace and a RoleBinding for the ServiceAccount there (`admin` in it, nothing elsewhere). */
  private async prepareNamespace(
    gs: GitSource,
    spec: GitSourceSpec,
    pr: PullRequest,
    ns: string,
  ): Promise<void> {
    const c = this.deps.client;
    const labels = {
      [LABEL_PREVIEW_OF]: gs.metadata.name,
      [LABEL_NAMESPACE]: gs.metadata.namespace,
      [LABEL_PREVIEW_NUMBER]: String(pr.number),
    };
    const nsObj = await c.getIfExists(`/api/v1/namespaces/${ns}`);
    if (nsObj && nsObj.metadata?.labels?.[LABEL_PREVIEW_OF] !== gs.metadata.name)
      throw new Error(
        `namespace ${ns} exists and is not a preview namespace of ${keyOf(gs)}: change spec.previews.namespaceTemplate`,
      );
    const apply = { fieldManager: PREVIEW_FIELD_MANAGER, force: true };
    await c.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels } }, apply);
    if (spec.serviceAccountName) {
      // The preview applies as the GitSource's ServiceAccount, which may do what `admin` allows there and nothing elsewhere.
      await c.apply(
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'converge-preview', namespace: ns, labels },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
          subjects: [
            { kind: 'ServiceAccount', name: spec.serviceAccountName, namespace: gs.metadata.namespace },
          ],
        } as KubeObject,
        apply,
      );
    }
  }

  /** The preview GitSource pinned to the head, applying into the preview namespace. */
  private async deployPreview(
    gs: GitSource,
    spec: GitSourceSpec,
    pr: PullRequest,
    ns: string,
  ): Promise<void> {
    const c = this.deps.client;
    const labels = {
      [LABEL_PREVIEW_OF]: gs.metadata.name,
      [LABEL_NAMESPACE]: gs.metadata.namespace,
      [LABEL_PREVIEW_NUMBER]: String(pr.number),
    };
    const name = previewSourceName(gs.metadata.name, pr.number);
    const existing = await c.getIfExists<GitSource>(
      `/apis/${API_VERSION}/namespaces/${gs.metadata.namespace}/gitsources/${name}`,
    );
    if (existing && existing.metadata.labels?.[LABEL_PREVIEW_OF] !== gs.metadata.name)
      throw new Error(
        `GitSource ${gs.metadata.namespace}/${name} exists and is not a preview of ${gs.metadata.name}: rename it or change spec.previews`,
      );
    const apply = { fieldManager: PREVIEW_FIELD_MANAGER, force: true };
    await c.apply(
      {
        apiVersion: API_VERSION,
        kind: KIND,
        // The parent's labels too: an operator sharded by label (--label-selector) must see its previews.
        metadata: {
          name,
          namespace: gs.metadata.namespace,
          labels: { ...gs.metadata.labels, ...labels, [LABEL_NAME]: name },
        },
        spec: previewSpec(spec, pr.head, ns),
      } as unknown as KubeObject,
      apply,
    );
  }

  /** Deletes preview GitSources and namespaces of this GitSource whose pull request is not deployed any more. */
  private async removeDeployments(gs: GitSource, keep: ReadonlySet<number>): Promise<void> {
    const c = this.deps.client;
    const selector = `${LABEL_PREVIEW_OF}=${gs.metadata.name},${LABEL_NAMESPACE}=${gs.metadata.namespace}`;
    const children = await c.list<GitSource>(
      `/apis/${API_VERSION}/namespaces/${gs.metadata.namespace}/gitsources`,
      { labelSelector: selector },
    );
    for (const child of children.items) {
      const number = Number(child.metadata.labels?.[LABEL_PREVIEW_NUMBER]);
      if (keep.has(number)) continue;
      this.deps.logger.info({ gitsource: keyOf(gs), preview: child.metadata.name }, 'removing preview');
      await c.delete(
        `/apis/${API_VERSION}/namespaces/${gs.metadata.namespace}/gitsources/${child.metadata.name}`,
      );
    }
    const namespaces = await c.list('/api/v1/namespaces', { labelSelector: selector });
    for (const ns of namespaces.items) {
      const number = Number(ns.metadata?.labels?.[LABEL_PREVIEW_NUMBER]);
      if (keep.has(number)) continue;
      await c.delete(`/api/v1/namespaces/${ns.metadata!.name}`);
    }
  }

  private async upsertComment(
    host: PreviewHost,
    t: HostTarget,
    pr: PullRequest,
    gs: GitSource,
    body: string,
  ): Promise<void> {
    const marker = commentMarker(gs.metadata.namespace, gs.metadata.name);
    let req: HostRequest | undefined = host.listComments(t, pr.number);
    let existing: string | undefined;
    for (let page = 0; req && page < 50 && existing === undefined; page++) {
      const parsed = host.parseComments(await this.call(req, `reading comments of #${pr.number}`));
      existing = parsed.items.find((c) => c.body.startsWith(marker))?.id;
      req = parsed.next && parsed.items.length > 0 ? host.page(t, parsed.next) : undefined;
    }
    this.stats.comments++;
    await this.call(
      existing === undefined
        ? host.createComment(t, pr.number, body)
        : host.updateComment(t, pr.number, existing, body),
      `${existing === undefined ? 'commenting on' : 'editing the comment on'} #${pr.number}`,
    );
  }

  private async setStatus(
    host: PreviewHost,
    t: HostTarget,
    gs: GitSource,
    pr: PullRequest,
    state: 'pending' | 'success' | 'failure',
    description: string,
  ): Promise<void> {
    this.stats.statuses++;
    await this.call(
      host.setStatus(t, pr.head, {
        state,
        context: previewContext(gs),
        description,
        targetUrl: pr.url || undefined,
      }),
      `setting the status of ${pr.head.slice(0, 7)}`,
    );
  }

  /** One host request: no redirects (credentials stay with the host), 20 s, a short sanitised error. */
  private async call(req: HostRequest, what: string): Promise<HostAnswer> {
    let res: Response;
    try {
      res = await this.fetchFn(req.url, {
        method: req.method,
        headers: req.headers,
        ...(req.body !== undefined ? { body: req.body } : {}),
        redirect: 'manual',
        signal: AbortSignal.timeout(20_000),
      });
    } catch (err) {
      throw new Error(
        `${what}: ${err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err)}`,
        { cause: err },
      );
    }
    const text = await res.text();
    if (res.status >= 300) {
      const hint =
        res.status === 401 || res.status === 403 ? ' (check the token in spec.previews.secretRef)' : '';
      throw new Error(
        `${what}: the host answered ${res.status} ${sanitizeMessage(res.statusText).slice(0, 60)}${hint}`,
      );
    }
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new Error(`${what}: the host's answer is not JSON`);
    }
    return { status: res.status, headers: res.headers, json };
  }

  private async writeStatus(gs: GitSource, previews: PreviewStatus[]): Promise<void> {
    if (samePreviews(gs.status?.previews, previews)) return;
    await this.deps.client.applyAt(
      `/apis/${API_VERSION}/namespaces/${gs.metadata.namespace}/gitsources/${gs.metadata.name}/status`,
      {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: gs.metadata.name, namespace: gs.metadata.namespace },
        status: { previews },
      } as unknown as KubeObject,
      { fieldManager: PREVIEW_FIELD_MANAGER, force: true },
    );
  }
}

function safeDuration(text: string | undefined, fallback: number): number {
  try {
    return text ? parseDuration(text) : fallback;
  } catch {
    return fallback;
  }
}
