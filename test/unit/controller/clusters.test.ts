// The pure parts of remote clusters: when a failure means the cluster is unreachable, how it is named, the outage window.
import { describe, expect, it } from 'vitest';
import { ConvergeError } from '../../../src/api/index.ts';
import {
  describeCluster,
  inRemoteCluster,
  isUnreachable,
  outageMs,
} from '../../../src/controller/clusters.ts';
import { ApiError } from '../../../src/kube/index.ts';
import { classifyFailure } from '../../../src/report/index.ts';

const remote = { server: 'https://10.0.0.7:6443/', context: 'prod-us' };
const refused = () =>
  new ApiError(0, 'ConnectionFailed', 'GET /api: connect ECONNREFUSED', [], 'GET', '/api');

describe('remote clusters', () => {
  it('names a cluster by server and context', () => {
    expect(describeCluster(remote)).toBe('cluster https://10.0.0.7:6443/ (context prod-us)');
  });

  it('finds an unanswered request anywhere in the cause chain', () => {
    expect(isUnreachable(refused())).toBe(true);
    const wrapped = new ConvergeError('ApplyFailed', 'ConfigMap/a/b: failed', { cause: refused() });
    expect(isUnreachable(wrapped)).toBe(true);
    expect(isUnreachable(new ApiError(403, 'Forbidden', 'no', [], 'GET', '/'))).toBe(false);
    expect(isUnreachable(new Error('x'))).toBe(false);
  });

  it('maps a refused connection during apply to ClusterUnreachable, never Stalled', () => {
    const err = new ConvergeError('ApplyFailed', 'ConfigMap/a/b: connect ECONNREFUSED', { cause: refused() });
    const f = inRemoteCluster(classifyFailure(err, 'apply'), err, remote);
    expect(f.reason).toBe('ClusterUnreachable');
    expect(f.stalled).toBe(false);
    expect(f.message).toBe(
      'cluster https://10.0.0.7:6443/ (context prod-us) unreachable: ConfigMap/a/b: connect ECONNREFUSED',
    );
  });

  it('keeps other reasons and names the cluster once', () => {
    const err = new ConvergeError('RBACDenied', 'forbidden');
    const f = inRemoteCluster(classifyFailure(err, 'apply'), err, remote);
    expect(f).toMatchObject({ reason: 'RBACDenied', stalled: true });
    expect(f.message).toBe('cluster https://10.0.0.7:6443/ (context prod-us): forbidden');
    expect(inRemoteCluster(f, err, remote).message).toBe(f.message);
  });

  it('opens an outage window of 5 s doubling to 60 s', () => {
    expect([1, 2, 3, 4, 5, 9].map(outageMs)).toEqual([5000, 10000, 20000, 40000, 60000, 60000]);
  });
});
