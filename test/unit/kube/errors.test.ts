import { describe, expect, it } from 'vitest';
import { ConvergeError } from '../../../src/api/index.ts';
import {
  ApiError,
  combineFailures,
  immutableFields,
  objectError,
  resourcePath,
  RequestStats,
  UnknownKindError,
  mapLimit,
} from '../../../src/kube/index.ts';

const ref = { group: 'apps', version: 'v1', kind: 'Deployment', namespace: 'apps', name: 'web' };

describe('ApiError', () => {
  it('reads a Status body', () => {
    const body = JSON.stringify({
      kind: 'Status',
      reason: 'Invalid',
      message: 'Deployment.apps "web" is invalid: spec.selector: Invalid value: ...: field is immutable',
      details: {
        causes: [
          {
            reason: 'FieldValueInvalid',
            message: 'Invalid value: ...: field is immutable',
            field: 'spec.selector',
          },
        ],
      },
    });
    const err = ApiError.fromResponse(422, body, 'PATCH', '/apis/apps/v1/namespaces/apps/deployments/web');
    expect(err.status).toBe(422);
    expect(err.reason).toBe('Invalid');
    expect(immutableFields(err)).toEqual(['spec.selector']);
  });
  it("sanitises the server's message and causes where they enter (bidi, escape sequences as a whole)", () => {
    const hostile = 'refused: \u202egnp.exe\u202c \x1b[31mred\x1b[0m\x1b]0;t\x07 \x9b2Jend';
    const body = JSON.stringify({
      kind: 'Status',
      reason: 'Invalid',
      message: hostile,
      details: { causes: [{ reason: 'FieldValueInvalid', message: hostile, field: 'data.\u202enote' }] },
    });
    const err = ApiError.fromResponse(422, body, 'PATCH', '/api/v1/namespaces/apps/configmaps/x');
    expect(err.message).toBe('refused: gnp.exe red end');
    expect(err.causes[0]).toEqual({
      reason: 'FieldValueInvalid',
      message: 'refused: gnp.exe red end',
      field: 'data.note',
    });
    expect(ApiError.fromResponse(500, hostile, 'GET', '/x').message).toBe('refused: gnp.exe red end');
  });
  it('copes with a body that is not a Status', () => {
    const err = ApiError.fromResponse(502, '<html>bad gateway</html>', 'GET', '/x');
    expect(err.reason).toBe('InternalError');
    expect(err.message).toBe('<html>bad gateway</html>');
    expect(immutableFields(err)).toBeUndefined();
  });
  it('finds immutability in the message when causes do not say', () => {
    expect(
      immutableFields(
        new ApiError(
          422,
          'Invalid',
          'Job.batch "j" is invalid: spec.template: Invalid value: field is immutable',
        ),
      ),
    ).toEqual(['(unknown field)']);
    expect(immutableFields(new ApiError(422, 'Invalid', 'spec.replicas: must be >= 0'))).toBeUndefined();
  });
});

describe('object errors', () => {
  it('maps 403 to RBACDenied naming verb, resource and namespace', () => {
    const err = objectError(
      ref,
      'patch',
      new ApiError(403, 'Forbidden', 'deployments.apps "web" is forbidden: User "x" cannot patch'),
      'ApplyFailed',
      'deployments',
    );
    expect(err.reason).toBe('RBACDenied');
    expect(err.message).toMatch(
      /^Deployment\/apps\/web: RBAC denied patch on deployments in namespace apps: /,
    );
    expect(err.stalled).toBe(true);
  });
  it('names the object otherwise and keeps ConvergeErrors as they are', () => {
    expect(objectError(ref, 'patch', new ApiError(422, 'Invalid', 'bad'), 'ApplyFailed').message).toBe(
      'Deployment/apps/web: bad',
    );
    const original = new UnknownKindError({ group: 'example.com', version: 'v1', kind: 'Foo' });
    expect(original.message).toBe('no kind Foo in group example.com/v1: is its CRD installed?');
    expect(original.reason).toBe('ApplyFailed');
    expect(objectError(ref, 'patch', original, 'ApplyFailed')).toBe(original);
  });
  it('combines failures, RBAC winning', () => {
    const a = { ref, error: new ConvergeError('ApplyFailed', 'A: bad') };
    const b = { ref, error: new ConvergeError('RBACDenied', 'B: denied') };
    expect(combineFailures([a], 'apply').message).toBe('A: bad');
    const both = combineFailures([a, b], 'apply');
    expect(both.reason).toBe('RBACDenied');
    expect(both.message).toBe('2 objects failed to apply: A: bad; B: denied');
  });
});

describe('paths, stats, mapLimit', () => {
  it('builds REST paths', () => {
    const deployments = {
      group: 'apps',
      version: 'v1',
      kind: 'Deployment',
      resource: 'deployments',
      namespaced: true,
    };
    expect(resourcePath(deployments, 'apps', 'web', 'status')).toBe(
      '/apis/apps/v1/namespaces/apps/deployments/web/status',
    );
    expect(
      resourcePath(
        { group: '', version: 'v1', kind: 'Namespace', resource: 'namespaces', namespaced: false },
        '',
        'x',
      ),
    ).toBe('/api/v1/namespaces/x');
  });
  it('counts requests by verb and code, writes excluding reads and dry-runs', () => {
    const seen: string[] = [];
    const stats = new RequestStats((r) => seen.push(r.verb));
    stats.record({ verb: 'GET', code: 200, dryRun: false, durationMs: 1 });
    stats.record({ verb: 'PATCH', code: 200, dryRun: true, durationMs: 1 });
    stats.record({ verb: 'PATCH', code: 201, dryRun: false, durationMs: 1 });
    stats.record({ verb: 'PATCH', code: 422, dryRun: false, durationMs: 1 });
    expect(stats.snapshot()).toEqual({
      'GET 200': 1,
      'PATCH 201': 1,
      'PATCH 422': 1,
      'PATCH(dry-run) 200': 1,
    });
    expect(stats.byVerb()).toEqual({ GET: 1, PATCH: 2, 'PATCH(dry-run)': 1 });
    expect(stats.writes()).toBe(2);
    expect(seen).toHaveLength(4);
  });
  it('bounds parallelism and keeps order', async () => {
    let inFlight = 0;
    let peak = 0;
    const results = await mapLimit([1, 2, 3, 4, 5, 6], 2, async (n) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      if (n === 4) throw new Error('four');
      return n * 10;
    });
    expect(peak).toBe(2);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : 'x'))).toEqual([10, 20, 30, 'x', 50, 60]);
  });
});
