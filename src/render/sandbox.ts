// The environment kustomize and helm run in: nothing inherited, no network, no git, no user or host configuration.
import * as path from 'node:path';

/**
 * Where every HTTP(S) request of the tools is sent: a loopback port below 1024 that nothing
 * listens on (port 9, "discard"; only root could bind it), so each request fails at once with
 * "connection refused" instead of reaching a host. Go's net/http honours these variables for
 * every host except loopback ones (`localhost`, 127.0.0.0/8, ::1), which it always dials
 * directly: those are refused before the tool runs (remote.ts), not here.
 */
export const CLOSED_PROXY = 'http://127.0.0.1:9';

/**
 * The whole environment for a render tool with its home at `home`. No PATH: kustomize cannot
 * find git (remote bases), helm, or an exec plugin. The git variables are belt and braces for a
 * git it might still find: every protocol off, no prompts, no system or global config.
 */
export function toolEnv(
  home: string,
  extra: Record<string, string> = {},
  proxy = CLOSED_PROXY,
): Record<string, string> {
  return {
    HOME: home,
    TMPDIR: home,
    XDG_CONFIG_HOME: path.join(home, 'config'),
    XDG_CACHE_HOME: path.join(home, 'cache'),
    XDG_DATA_HOME: path.join(home, 'data'),
    KUBECONFIG: path.join(home, 'none'),
    // Go reads the upper- or lower-case forms (lower wins for http_proxy); curl and git read ALL_PROXY.
    HTTP_PROXY: proxy,
    HTTPS_PROXY: proxy,
    ALL_PROXY: proxy,
    http_proxy: proxy,
    https_proxy: proxy,
    all_proxy: proxy,
    NO_PROXY: '',
    no_proxy: '',
    GIT_ALLOW_PROTOCOL: 'none',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_SSH_COMMAND: 'false',
    GIT_ASKPASS: 'false',
    SSH_ASKPASS: 'false',
    ...extra,
  };
}

/**
 * A tool's message with every decrypted value of the render replaced (kustomize quotes a bad env
 * line whole). Longest first, so a value containing another is replaced whole.
 */
export function scrubSecrets(text: string, secrets: ReadonlySet<string> | undefined): string {
  if (!secrets || secrets.size === 0) return text;
  let out = text;
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    if (s.length >= 3) out = out.replaceAll(s, '<decrypted>');
  }
  return out;
}
