// Text a repository controls reaches RenderFailed messages through tools' stderr (helm, kustomize) and
// parser errors: each is made safe by the one sanitiser where it enters (no bidi override, no control,
// no escape sequence or the `[31m` an ESC removal alone would leave).
import { afterEach, describe, expect, it } from 'vitest';
import { ConvergeError } from '../../../src/api/index.ts';
import { renderManifests } from '../../../src/render/index.ts';
import { clientTools, makeRepo } from './support.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

// eslint-disable-next-line no-control-regex -- control characters are what is checked
const UNSAFE = /[\u202a-\u202e\u2066-\u2069\x00-\x09\x0b-\x1f\x7f-\x9f]|\[\d*(;\d+)*m/;

async function renderError(files: Record<string, string>, path = '.'): Promise<ConvergeError> {
  const r = await makeRepo(files);
  cleanups.push(r.cleanup);
  try {
    await renderManifests({ root: r.root, path, tools: await clientTools() });
  } catch (err) {
    expect(err).toBeInstanceOf(ConvergeError);
    return err as ConvergeError;
  }
  throw new Error('expected a render failure');
}

describe('hostile text in render failures', () => {
  it("helm's stderr (a chart's `fail` message) is sanitised", async () => {
    const e = await renderError(
      {
        'evil/Chart.yaml': 'apiVersion: v2\nname: evil\nversion: 0.1.0\n',
        // Go template string escapes: the chart makes helm print a bidi override and an SGR sequence.
        'evil/templates/cm.yaml':
          '{{ fail "evil \\u202egnp.exe\\u202c \\x1b[31mred\\x1b[0m \\x1b]0;title\\x07 done" }}\n',
      },
      'evil',
    );
    expect(e.reason).toBe('RenderFailed');
    expect(e.message).toContain('evil gnp.exe red');
    expect(e.message).toContain('done');
    expect(e.message).not.toMatch(UNSAFE);
  });

  it('a YAML parser error quoting the file is sanitised', async () => {
    const e = await renderError({
      'bad.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  k: "\u202eabc\x1b[31m\n  - [\n',
    });
    expect(e.reason).toBe('RenderFailed');
    expect(e.message).toContain('bad.yaml');
    expect(e.message).not.toMatch(UNSAFE);
  });
});
