// ImagePolicyController: watches ImagePolicies, asks each one's registry for tags every interval,
// writes status.latestRef and Ready, and tells the image updates when a policy's tag moved.
import type { Logger } from 'pino';
import {
  API_VERSION,
  ConvergeError,
  GROUP,
  IMAGE_POLICY_KIND,
  IMAGE_POLICY_PLURAL,
  STATUS_FIELD_MANAGER,
  VERSION,
  parseDuration,
  parseImagePolicySpec,
  type GitSourceStatus,
  type ImagePolicy,
  type ImagePolicySpec,
  type ImagePolicyStatus,
  type ImageRef,
} from '../api/index.ts';
import { ApiError, type KubeClient } from '../kube/index.ts';
import { mergeConditions, sameStatus, type ConditionUpdate } from '../report/index.ts';
import { registryCredentials } from './dockerconfig.ts';
import { selectTag } from './policy.ts';
import { parseImageName, type RegistryClient } from './registry.ts';

export interface ImagePolicyControllerOptions {
  client: KubeClient;
  registry: RegistryClient;
  logger: Logger;
  /** Watch ImagePolicies of one namespace only (as the controller's --namespace). */
  namespace?: string | undefined;
  /** Told when a policy's latest tag or digest moved (or it appeared or went). */
  onMoved?: (key: string) => void;
  now?: () => Date;
  /** Scans running at once across all policies (default 4). */
  concurrency?: number;
}

/** What the image updates read of a policy. */
export interface PolicySnapshot {
  namespace: string;
  name: string;
  image: string;
  latest: ImageRef | undefined;
  /** Ready=False's message, when the policy has no usable tag. */
  problem: string | undefined;
}

export interface PolicyIndex {
  /** `<ns>/<name>` → the policy as this process knows it; undefined when it does not exist. */
  get(namespace: string, name: string): PolicySnapshot | undefined;
  /** Grows whenever any policy's latest tag moves: a cheap "did anything change" for the updates. */
  version(): number;
}

interface PolicyState {
  key: string;
  obj: ImagePolicy;
  spec: ImagePolicySpec | undefined;
  invalid: string | undefined;
  latest: ImageRef | undefined;
  ready: ConditionUpdate;
  lastScan: ImagePolicyStatus['lastScan'];
  timer: NodeJS.Timeout | undefined;
  scanning: boolean;
  /** A scan was asked for while one ran. */
  again: boolean;
  scannedGeneration: number | undefined;
  written: ImagePolicyStatus | undefined;
  abort: AbortController;
}

const policyPath = (namespace?: string, name?: string) =>
  `/apis/${GROUP}/${VERSION}/${namespace ? `namespaces/${namespace}/` : ''}${IMAGE_POLICY_PLURAL}${name ? `/${name}` : ''}`;

export class ImagePolicyController implements PolicyIndex {
  private readonly policies = new Map<string, PolicyState>();
  private readonly abort = new AbortController();
  private readonly now: () => Date;
  private leading = false;
  private started = false;
  private moves = 0;
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private watchFailures = 0;

  constructor(private readonly opts: ImagePolicyControllerOptions) {
    this.now = opts.now ?? (() => new Date());
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    void this.opts.client
      .watch<ImagePolicy>(
        policyPath(this.opts.namespace),
        {
          signal: this.abort.signal,
          onError: (err) => {
            this.watchFailures++;
            const level = this.watchFailures === 1 ? 'warn' : 'debug';
            this.opts.logger[level]({ err: String(err) }, 'ImagePolicy watch interrupted; resuming');
          },
        },
        (event) => {
          if (event.type === 'SYNCED') return;
          this.watchFailures = 0;
          if (event.type === 'DELETED') this.remove(event.object);
          else this.upsert(event.object);
        },
      )
      .catch((err: unknown) => this.opts.logger.error({ err: String(err) }, 'ImagePolicy watch ended'));
  }

  /** Only the leader asks registries and writes status; a standby keeps the last written latestRef. */
  setLeading(leading: boolean): void {
    this.leading = leading;
    if (leading) for (const s of this.policies.values()) this.schedule(s, 0);
  }

  stop(): void {
    this.abort.abort();
    for (const s of this.policies.values()) {
      clearTimeout(s.timer);
      s.abort.abort();
    }
  }

  get(namespace: string, name: string): PolicySnapshot | undefined {
    const s = this.policies.get(`${namespace}/${name}`);
    if (!s) return undefined;
    return {
      namespace,
      name,
      image: s.spec?.image ?? s.obj.spec.image,
      latest: s.latest,
      problem: s.ready.status === 'True' ? undefined : s.ready.message,
    };
  }

  version(): number {
    return this.moves;
  }

  /** Scans a policy now (a registry push notification); false when no such policy is watched. */
  scanNow(namespace: string, name: string): boolean {
    const s = this.policies.get(`${namespace}/${name}`);
    if (!s) return false;
    this.schedule(s, 0);
    return true;
  }

  /** Scans now every policy of `image` (a registry push notification names the image, not the policy). */
  scanImage(image: string, inScope: (namespace: string) => boolean = () => true): number {
    let n = 0;
    const wanted = image.toLowerCase();
    for (const s of this.policies.values())
      if (
        s.spec?.image?.toLowerCase() === wanted &&
        inScope(s.obj.metadata.namespace) &&
        this.scanNow(s.obj.metadata.namespace, s.obj.metadata.name)
      )
        n++;
    return n;
  }

  private upsert(obj: ImagePolicy): void {
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    const parsed = parseImagePolicySpec(obj.spec);
    let s = this.policies.get(key);
    if (!s) {
      const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
      s = {
        key,
        obj,
        spec: undefined,
        invalid: undefined,
        // Until the first scan, the last written tag stands (a restart never loses it).
        latest: obj.status?.latestRef,
        ready: ready
          ? { type: 'Ready', status: ready.status, reason: ready.reason, message: ready.message }
          : { type: 'Ready', status: 'Unknown', reason: 'Progressing', message: 'Not scanned yet' },
        lastScan: obj.status?.lastScan,
        timer: undefined,
        scanning: false,
        again: false,
        scannedGeneration: undefined,
        written: obj.status,
        abort: new AbortController(),
      };
      this.policies.set(key, s);
      this.moved(key);
    }
    s.obj = obj;
    s.spec = parsed.ok ? parsed.spec : undefined;
    s.invalid = parsed.ok ? undefined : parsed.error;
    // A new generation is scanned at once; other updates (our own status writes) change nothing.
    if (s.scannedGeneration !== obj.metadata.generation) this.schedule(s, 0);
  }

  private remove(obj: ImagePolicy): void {
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    const s = this.policies.get(key);
    if (!s) return;
    clearTimeout(s.timer);
    s.abort.abort();
    this.policies.delete(key);
    this.moved(key);
  }

  private moved(key: string): void {
    this.moves++;
    this.opts.onMoved?.(key);
  }

  private schedule(s: PolicyState, ms: number): void {
    clearTimeout(s.timer);
    if (!this.leading || this.abort.signal.aborted) return;
    s.timer = setTimeout(() => void this.scan(s), ms);
    s.timer.unref();
  }

  private intervalOf(s: PolicyState): number {
    return s.spec ? parseDuration(s.spec.interval) : 60_000;
  }

  private async scan(s: PolicyState): Promise<void> {
    if (s.scanning) {
      s.again = true;
      return;
    }
    s.scanning = true;
    await this.slot();
    try {
      if (this.policies.get(s.key) !== s) return;
      s.again = false;
      s.scannedGeneration = s.obj.metadata.generation;
      await this.scanOnce(s);
    } finally {
      this.release();
      s.scanning = false;
      if (this.policies.get(s.key) === s) this.schedule(s, s.again ? 0 : this.intervalOf(s));
    }
  }

  private async scanOnce(s: PolicyState): Promise<void> {
    const log = this.opts.logger.child({ imagepolicy: s.key });
    if (s.invalid || !s.spec) {
      s.ready = {
        type: 'Ready',
        status: 'False',
        reason: 'InvalidSpec',
        message: s.invalid ?? 'invalid spec',
      };
      return this.writeStatus(s);
    }
    const spec = s.spec;
    if (spec.suspend) {
      s.ready = { type: 'Ready', status: 'False', reason: 'Suspended', message: 'Scanning is suspended' };
      return this.writeStatus(s);
    }
    const started = Date.now();
    try {
      const credentials = spec.secretRef ? await this.credentials(s.obj.metadata.namespace, spec) : undefined;
      const req = { image: spec.image, credentials, insecure: spec.insecure, signal: s.abort.signal };
      const tags = await this.opts.registry.listTags(req);
      const selection = selectTag(spec, tags);
      if (!selection.ok) {
        s.lastScan = { time: this.timestamp(), tags: tags.length, matched: 0 };
        s.ready = { type: 'Ready', status: 'False', reason: selection.reason, message: selection.message };
      } else {
        const digest = await this.opts.registry.digestOf(req, selection.tag);
        const latest: ImageRef = { tag: selection.tag, ...(digest ? { digest } : {}) };
        s.lastScan = { time: this.timestamp(), tags: tags.length, matched: selection.matched };
        s.ready = {
          type: 'Ready',
          status: 'True',
          reason: 'Succeeded',
          message: `Latest tag ${latest.tag}${digest ? ` (${digest.slice(0, 19)}…)` : ''} of ${tags.length} tag${tags.length === 1 ? '' : 's'} (${selection.matched} matching)`,
        };
        if (s.latest?.tag !== latest.tag || s.latest.digest !== latest.digest) {
          log.info(
            { from: s.latest?.tag, to: latest.tag, digest, ms: Date.now() - started },
            'image policy moved',
          );
          s.latest = latest;
          this.moved(s.key);
        }
      }
    } catch (err) {
      if (s.abort.signal.aborted) return;
      const e = err instanceof ConvergeError ? err : new ConvergeError('FetchFailed', String(err));
      s.ready = { type: 'Ready', status: 'False', reason: e.reason, message: e.message };
      log.warn({ reason: e.reason, err: e.message }, 'image scan failed');
    }
    await this.writeStatus(s);
  }

  private async credentials(namespace: string, spec: ImagePolicySpec) {
    const name = spec.secretRef!.name;
    let secret: { data?: Record<string, string> };
    try {
      secret = await this.opts.client.request('GET', `/api/v1/namespaces/${namespace}/secrets/${name}`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404)
        throw new ConvergeError(
          'MissingSecret',
          `secret ${namespace}/${name} (spec.secretRef.name) not found`,
        );
      if (err instanceof ApiError && err.status === 403)
        throw new ConvergeError(
          'RBACDenied',
          `reading secret ${namespace}/${name} (spec.secretRef.name) is forbidden`,
        );
      throw err;
    }
    const data = Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
    );
    return registryCredentials(data, name, parseImageName(spec.image).host);
  }

  /** Server-side apply of the status, only when it changed. */
  private async writeStatus(s: PolicyState): Promise<void> {
    if (!this.leading) return;
    const generation = s.obj.metadata.generation;
    const status: ImagePolicyStatus = {
      observedGeneration: generation,
      conditions: mergeConditions(s.written?.conditions, [s.ready], [], generation, this.timestamp()),
      ...(s.latest ? { latestRef: s.latest } : {}),
      ...(s.lastScan ? { lastScan: s.lastScan } : {}),
    };
    // lastScan.time changes every scan: an unchanged result is not worth a write each interval.
    const comparable = (st: ImagePolicyStatus | undefined) =>
      st && ({ ...st, lastScan: st.lastScan && { ...st.lastScan, time: '' } } as GitSourceStatus);
    if (s.written && sameStatus(comparable(s.written), comparable(status)!)) return;
    try {
      await this.opts.client.request(
        'PATCH',
        `${policyPath(s.obj.metadata.namespace, s.obj.metadata.name)}/status`,
        {
          query: { fieldManager: STATUS_FIELD_MANAGER, force: true },
          body: {
            apiVersion: API_VERSION,
            kind: IMAGE_POLICY_KIND,
            metadata: { name: s.obj.metadata.name, namespace: s.obj.metadata.namespace },
            status,
          },
          contentType: 'application/apply-patch+yaml',
        },
      );
      s.written = status;
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404))
        this.opts.logger.warn({ imagepolicy: s.key, err: String(err) }, 'could not write ImagePolicy status');
    }
  }

  private async slot(): Promise<void> {
    if (this.running < (this.opts.concurrency ?? 4)) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
  }

  private release(): void {
    this.running--;
    this.waiting.shift()?.();
  }

  private timestamp(): string {
    return this.now()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
  }
}
