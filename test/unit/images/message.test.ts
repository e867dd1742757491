// Commit messages of image updates: the default lists each change; a bad template is named.
import { describe, expect, it } from 'vitest';
import { renderMessage } from '../../../src/images/message.ts';

const changes = [
  { file: 'apps/web.yaml', line: 10, policy: 'apps:web', old: 'r/web:1.0.0', new: 'r/web:1.1.0' },
  { file: 'apps/values.yaml', line: 3, policy: 'apps:web', old: '1.0.0', new: '1.1.0' },
];
const facts = { changes, source: 'apps/fleet', branch: 'main' };

describe('renderMessage', () => {
  it('lists file, line, old → new by default', () => {
    expect(renderMessage(undefined, facts)).toEqual({
      ok: true,
      message:
        'Update images\n\n- apps/web.yaml:10: r/web:1.0.0 → r/web:1.1.0\n- apps/values.yaml:3: 1.0.0 → 1.1.0\n',
    });
  });

  it('fills count, source and branch', () => {
    expect(
      renderMessage('chore({{ source }}): {{count}} image(s) on {{branch}}\n\n{{changes}}', facts),
    ).toMatchObject({
      ok: true,
      message: expect.stringMatching(/^chore\(apps\/fleet\): 2 image\(s\) on main\n\n- apps\/web.yaml:10/),
    });
  });

  it('names an unknown placeholder (a Flux Go template), an unclosed one, and an empty result', () => {
    expect(renderMessage('{{range .Changed.Changes}}x{{end}}', facts)).toEqual({
      ok: false,
      error:
        'spec.imageUpdates.messageTemplate: unknown placeholder {{range .Changed.Changes}} (use {{changes}}, {{count}}, {{source}}, {{branch}})',
    });
    expect(renderMessage('Update {{changes', facts)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/never closed/),
    });
    expect(renderMessage('  ', facts)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/empty message/),
    });
  });
});
