// Checks a GitSource's URL and ref before any git process sees them: option injection, odd schemes, bad refs.
import semver from 'semver';
import { ConvergeError, type GitRef } from '../../api/index.ts';

/** The transport git will use, as named in GIT_ALLOW_PROTOCOL. */
export type GitTransport = 'http' | 'https' | 'ssh' | 'file';

/** A ref with exactly one kind, defaults applied and checked. */
export type ResolvedRefSpec =
  | { kind: 'branch'; name: string }
  | { kind: 'tag'; name: string }
  | { kind: 'semver'; range: string }
  | { kind: 'commit'; sha: string };

// C0 controls, DEL and the C1 range: never legitimate in a URL or ref, and a way to forge log lines.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const SCP_LIKE = /^(?:([A-Za-z0-9._~+-]+)@)?([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(?!\/\/)(.+)$/;

function invalid(message: string): ConvergeError {
  return new ConvergeError('InvalidSpec', message);
}

/**
 * Validates a repository URL and returns the transport git will use for it. Git itself reads an
 * argument starting with '-' as an option and a host starting with '-' as an ssh option, so both
 * are refused here, before git runs.
 */
export function checkUrl(url: string, allowFileUrls: boolean): GitTransport {
  if (url.length === 0)
    throw invalid('spec.url is empty: set it to an https://, ssh:// or git@host:path URL');
  if (url.length > 2048) throw invalid('spec.url is longer than 2048 characters');
  if (CONTROL.test(url) || /\s/.test(url)) {
    throw invalid('spec.url contains whitespace or control characters');
  }
  if (url.startsWith('-')) throw invalid("spec.url must not start with '-'");
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    if (scheme === 'file') {
      if (!allowFileUrls) throw invalid('spec.url: file:// URLs are disabled on this controller');
      return 'file';
    }
    if (scheme !== 'http' && scheme !== 'https' && scheme !== 'ssh') {
      throw invalid(
        `spec.url: scheme "${scheme}" is not supported; use https://, http://, ssh:// or git@host:path`,
      );
    }
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw invalid('spec.url is not a valid URL');
    }
    if (parsed.hostname === '') throw invalid('spec.url has no host');
    if (parsed.hostname.startsWith('-') || parsed.username.startsWith('-')) {
      throw invalid("spec.url: host and user must not start with '-'");
    }
    if (parsed.password !== '') {
      throw invalid(
        'spec.url must not embed a password: put username and password in the secret of spec.secretRef',
      );
    }
    return scheme;
  }
  if (url.includes('::'))
    throw invalid('spec.url: git transport helpers (<transport>::<address>) are not allowed');
  const scp = SCP_LIKE.exec(url);
  if (scp) {
    const [, user, host, path] = scp;
    if (host === undefined || path === undefined) throw invalid('spec.url is not a valid scp-like URL');
    if (host.startsWith('-') || user?.startsWith('-') || path.startsWith('-')) {
      throw invalid("spec.url: user, host and path must not start with '-'");
    }
    return 'ssh';
  }
  throw invalid('spec.url must be an https://, http://, ssh:// or scp-like user@host:path URL');
}

/** The rules of `git check-ref-format`, checked in-process so a bad name never reaches git. */
function checkRefName(name: string, field: string): void {
  const bad = (why: string) => invalid(`${field} "${printable(name)}" is not a valid git ref name: ${why}`);
  if (name.length === 0) throw bad('it is empty');
  if (name.length > 255) throw bad('it is longer than 255 characters');
  if (name.startsWith('-')) throw bad("it starts with '-'");
  if (CONTROL.test(name) || /[\s~^:?*[\\]/.test(name))
    throw bad('it contains a space, control character or one of ~^:?*[\\');
  if (name.includes('..') || name.includes('@{') || name.includes('//'))
    throw bad("it contains '..', '@{' or '//'");
  if (name === '@' || name.startsWith('/') || name.endsWith('/') || name.endsWith('.')) {
    throw bad("it is '@', or starts or ends with '/' or ends with '.'");
  }
  if (name.split('/').some((part) => part.startsWith('.') || part.endsWith('.lock'))) {
    throw bad("a component starts with '.' or ends with '.lock'");
  }
}

/** Exactly one of branch, tag, semver or commit; branch main when none is set. */
export function checkRef(ref: GitRef | undefined): ResolvedRefSpec {
  const set = ref ? (['branch', 'tag', 'semver', 'commit'] as const).filter((k) => ref[k] !== undefined) : [];
  if (set.length > 1)
    throw invalid(`spec.ref sets ${set.join(' and ')}: set exactly one of branch, tag, semver or commit`);
  if (!ref || set.length === 0) return { kind: 'branch', name: 'main' };
  if (ref.branch !== undefined) {
    checkRefName(ref.branch, 'spec.ref.branch');
    return { kind: 'branch', name: ref.branch };
  }
  if (ref.tag !== undefined) {
    checkRefName(ref.tag, 'spec.ref.tag');
    return { kind: 'tag', name: ref.tag };
  }
  if (ref.semver !== undefined) {
    if (CONTROL.test(ref.semver) || semver.validRange(ref.semver) === null) {
      throw invalid(
        `spec.ref.semver "${printable(ref.semver)}" is not a valid semver range (e.g. ">=1.2.0 <2.0.0")`,
      );
    }
    return { kind: 'semver', range: ref.semver };
  }
  const sha = ref.commit ?? '';
  if (!/^[0-9a-f]{40}$/.test(sha)) {
    throw invalid(`spec.ref.commit "${printable(sha)}" must be a full 40-character lowercase hex commit SHA`);
  }
  return { kind: 'commit', sha };
}

/** A value safe to echo in a message: control characters escaped, length bounded. */
function printable(value: string): string {
  const escaped = JSON.stringify(value).slice(1, -1);
  return escaped.length > 80 ? `${escaped.slice(0, 77)}...` : escaped;
}
