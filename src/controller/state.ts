// What this process remembers of each GitSource between reconciles (lost on restart, by design):
// one store shared by the controller (drift events, spec changes) and the reconciler (passes).
import { Superseded, type KubeObject } from '../api/index.ts';

export interface SourceState {
  /** The commit and generation last applied successfully by this process. */
  appliedCommit?: string | undefined;
  appliedGeneration?: number | undefined;
  /** Desired objects of the last applied revision, with ownership labels: the baseline for drift checks. */
  desired?: KubeObject[] | undefined;
  /** Digest of the rendered objects last applied (renderDigest): a new commit that renders the same skips the plan. */
  renderDigest?: string | undefined;
  /** Inventory ids someone else touched since: re-planned on the next pass. */
  drifted: Set<string>;
  /** drift: Report: ids found to differ from Git and left so; re-checked until they match again. */
  reportedDrift: Set<string>;
  /** Whether every applied kind is watched; when not, each interval re-plans every object. */
  driftWatched?: boolean | undefined;
  /** Cancels the in-flight reconcile (e.g. a health wait) when the spec or revision moves on. */
  abort?: AbortController | undefined;
  /** A commit and generation that failed in a way only a new commit or spec change can fix (Stalled). */
  stalledCommit?: string | undefined;
  stalledGeneration?: number | undefined;
  /** The target cluster the memory above is about (`local`, or a kubeconfig's hash). */
  clusterId?: string | undefined;
}

export class SourceStateStore {
  private readonly states = new Map<string, SourceState>();

  /** The state of `key`, created empty on first use. */
  get(key: string): SourceState {
    let s = this.states.get(key);
    if (!s) {
      s = { drifted: new Set(), reportedDrift: new Set() };
      this.states.set(key, s);
    }
    return s;
  }

  /** The state of `key` if this process has any. */
  peek(key: string): SourceState | undefined {
    return this.states.get(key);
  }

  /** Starts a run of `key`: cancels the previous one (superseded) and returns the new run's controller. */
  beginRun(key: string): AbortController {
    const state = this.get(key);
    state.abort?.abort(new Superseded());
    const abort = new AbortController();
    state.abort = abort;
    return abort;
  }

  /** The run ended: forget its controller unless a newer run replaced it. */
  endRun(key: string, abort: AbortController): void {
    const state = this.states.get(key);
    if (state?.abort === abort) state.abort = undefined;
  }

  /** Cancels the in-flight run of `key`, if any. */
  supersede(key: string, why?: string): void {
    this.states.get(key)?.abort?.abort(new Superseded(why));
  }

  /** The GitSource is gone: cancel its run and drop its memory. */
  forget(key: string): void {
    this.supersede(key, 'the GitSource was deleted');
    this.states.delete(key);
  }

  /** Shutdown: cancel every run. */
  supersedeAll(why: string): void {
    for (const s of this.states.values()) s.abort?.abort(new Superseded(why));
  }
}
