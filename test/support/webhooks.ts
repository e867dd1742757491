// Push webhook requests as the providers send them: payload shapes from each provider's
// documentation (trimmed of fields nobody reads, every field we read kept), their event and
// delivery headers, and the signature each computes. Used by unit tests, e2e tests and the bench.
import { createHmac, randomUUID } from 'node:crypto';

export type HookProvider =
  'github' | 'gitlab' | 'bitbucket' | 'bitbucket-server' | 'gitea' | 'forgejo' | 'generic';

/** One repository as a provider would name it in a payload. */
export interface RepoNames {
  /** https clone URL, e.g. https://github.com/org/fleet.git */
  http: string;
  /** ssh clone URL (scp-like or ssh://), e.g. git@github.com:org/fleet.git */
  ssh: string;
  /** web page, e.g. https://github.com/org/fleet */
  web: string;
  /** org/fleet */
  fullName: string;
}

export interface PushSpec {
  ref: string; // refs/heads/main or refs/tags/v1.0.0
  before?: string;
  after: string;
}

export interface HookRequest {
  path: string;
  headers: Record<string, string>;
  body: string;
}

const ZERO = '0000000000000000000000000000000000000000';
const hex = (body: string, secret: string) => createHmac('sha256', secret).update(body).digest('hex');
const short = (ref: string) => ref.replace(/^refs\/(heads|tags)\//, '');
const isTag = (ref: string) => ref.startsWith('refs/tags/');

export function repoNames(url: string): RepoNames {
  const u = new URL(url);
  const path = u.pathname.replace(/^\//, '').replace(/\.git$/, '');
  return {
    http: url,
    ssh: `git@${u.hostname}:${path}.git`,
    web: `${u.protocol}//${u.host}/${path}`,
    fullName: path.includes('/') ? path : `org/${path}`,
  };
}

// GitHub "push" (docs.github.com webhook-events-and-payloads#push).
function githubPush(r: RepoNames, p: PushSpec): object {
  const [owner, name] = r.fullName.split('/');
  return {
    ref: p.ref,
    before: p.before ?? ZERO,
    after: p.after,
    created: p.before === undefined,
    deleted: p.after === ZERO,
    forced: false,
    base_ref: null,
    compare: `${r.web}/compare/${(p.before ?? ZERO).slice(0, 12)}...${p.after.slice(0, 12)}`,
    commits: [
      {
        id: p.after,
        tree_id: p.after,
        distinct: true,
        message: 'Update manifests',
        timestamp: '2026-11-26T20:00:00Z',
        url: `${r.web}/commit/${p.after}`,
        author: { name: 'Dev', email: 'dev@example.com', username: 'dev' },
        committer: { name: 'Dev', email: 'dev@example.com', username: 'dev' },
        added: [],
        removed: [],
        modified: ['deploy/web.yaml'],
      },
    ],
    head_commit: { id: p.after, message: 'Update manifests', timestamp: '2026-11-26T20:00:00Z' },
    repository: {
      id: 123060978,
      node_id: 'MDEwOlJlcG9zaXRvcnkxMjMwNjA5Nzg=',
      name,
      full_name: r.fullName,
      private: true,
      owner: { name: owner, login: owner, id: 1, type: 'Organization' },
      html_url: r.web,
      url: r.web,
      git_url: r.http.replace(/^https?:/, 'git:'),
      ssh_url: r.ssh,
      clone_url: r.http,
      svn_url: r.web,
      default_branch: 'main',
      master_branch: 'main',
    },
    pusher: { name: 'dev', email: 'dev@example.com' },
    sender: { login: 'dev', id: 2, type: 'User' },
  };
}

// GitHub "ping", sent when a hook is created.
function githubPing(r: RepoNames): object {
  return {
    zen: 'Design for failure.',
    hook_id: 42,
    hook: {
      type: 'Repository',
      id: 42,
      name: 'web',
      active: true,
      events: ['push'],
      config: { content_type: 'json', insecure_ssl: '0', url: 'https://hooks.example.com/github' },
    },
    repository: {
      id: 123060978,
      name: r.fullName.split('/')[1],
      full_name: r.fullName,
      html_url: r.web,
      clone_url: r.http,
    },
    sender: { login: 'dev', id: 2, type: 'User' },
  };
}

// GitLab "Push Hook" / "Tag Push Hook" (docs.gitlab.com user/project/integrations/webhook_events).
function gitlabPush(r: RepoNames, p: PushSpec): object {
  const [namespace, name] = r.fullName.split('/');
  const project = {
    id: 15,
    name,
    description: '',
    web_url: r.web,
    avatar_url: null,
    git_ssh_url: r.ssh,
    git_http_url: r.http,
    namespace,
    visibility_level: 0,
    path_with_namespace: r.fullName,
    default_branch: 'main',
    homepage: r.web,
    url: r.ssh,
    ssh_url: r.ssh,
    http_url: r.http,
  };
  return {
    object_kind: isTag(p.ref) ? 'tag_push' : 'push',
    event_name: isTag(p.ref) ? 'tag_push' : 'push',
    before: p.before ?? ZERO,
    after: p.after,
    ref: p.ref,
    ref_protected: true,
    checkout_sha: p.after,
    message: null,
    user_id: 4,
    user_name: 'Dev',
    user_username: 'dev',
    user_email: '',
    project_id: 15,
    project,
    commits: [
      {
        id: p.after,
        message: 'Update manifests',
        title: 'Update manifests',
        timestamp: '2026-11-26T20:00:00+00:00',
        url: `${r.web}/-/commit/${p.after}`,
        author: { name: 'Dev', email: '[REDACTED]' },
        added: [],
        modified: ['deploy/web.yaml'],
        removed: [],
      },
    ],
    total_commits_count: 1,
    push_options: {},
    repository: {
      name,
      url: r.ssh,
      description: '',
      homepage: r.web,
      git_http_url: r.http,
      git_ssh_url: r.ssh,
      visibility_level: 0,
    },
  };
}

// Bitbucket Cloud "repo:push" (support.atlassian.com bitbucket-cloud event-payloads#Push).
function bitbucketPush(r: RepoNames, p: PushSpec): object {
  const type = isTag(p.ref) ? 'tag' : 'branch';
  const state = (hash: string) => ({
    type,
    name: short(p.ref),
    target: {
      type: 'commit',
      hash,
      message: 'Update manifests\n',
      date: '2026-11-26T20:00:00+00:00',
      links: { html: { href: `${r.web}/commits/${hash}` } },
    },
    links: { html: { href: `${r.web}/branch/${short(p.ref)}` } },
  });
  return {
    actor: { type: 'user', display_name: 'Dev', uuid: '{d301aafa-d676-4ee0-88be-962be7417567}' },
    repository: {
      type: 'repository',
      name: r.fullName.split('/')[1],
      full_name: r.fullName,
      uuid: '{c8f1d9a4-4a43-4d3c-8b5f-4a7e1fe1a6bf}',
      is_private: true,
      scm: 'git',
      links: {
        html: { href: r.web },
        self: { href: `https://api.bitbucket.org/2.0/repositories/${r.fullName}` },
      },
      workspace: { type: 'workspace', slug: r.fullName.split('/')[0] },
    },
    push: {
      changes: [
        {
          new: p.after === ZERO ? null : state(p.after),
          old: p.before ? state(p.before) : null,
          created: p.before === undefined,
          closed: p.after === ZERO,
          forced: false,
          truncated: false,
          commits: [],
        },
      ],
    },
  };
}

// Bitbucket Server / Data Center "repo:refs_changed" (confluence.atlassian.com bitbucketserver event-payload).
function bitbucketServerPush(r: RepoNames, p: PushSpec): object {
  const [key, slug] = r.fullName.split('/');
  return {
    eventKey: 'repo:refs_changed',
    date: '2026-11-26T20:00:00+0000',
    actor: {
      name: 'dev',
      emailAddress: 'dev@example.com',
      id: 1,
      displayName: 'Dev',
      active: true,
      slug: 'dev',
      type: 'NORMAL',
    },
    repository: {
      slug,
      id: 84,
      name: slug,
      hierarchyId: 'af05451fc6d5c0b6e2f8',
      scmId: 'git',
      state: 'AVAILABLE',
      statusMessage: 'Available',
      forkable: true,
      project: { key: key!.toUpperCase(), id: 84, name: key, public: false, type: 'NORMAL' },
      public: false,
      links: {
        clone: [
          { href: r.ssh, name: 'ssh' },
          { href: r.http, name: 'http' },
        ],
        self: [{ href: `${r.web}/browse` }],
      },
    },
    changes: [
      {
        ref: { id: p.ref, displayId: short(p.ref), type: isTag(p.ref) ? 'TAG' : 'BRANCH' },
        refId: p.ref,
        fromHash: p.before ?? ZERO,
        toHash: p.after,
        type: p.before === undefined ? 'ADD' : p.after === ZERO ? 'DELETE' : 'UPDATE',
      },
    ],
  };
}

// Gitea / Forgejo "push" (docs.gitea.com usage/webhooks).
function giteaPush(r: RepoNames, p: PushSpec): object {
  const [owner, name] = r.fullName.split('/');
  return {
    ref: p.ref,
    before: p.before ?? ZERO,
    after: p.after,
    compare_url: `${r.web}/compare/${p.before ?? ZERO}...${p.after}`,
    commits: [
      {
        id: p.after,
        message: 'Update manifests\n',
        url: `${r.web}/commit/${p.after}`,
        author: { name: 'Dev', email: 'dev@example.com', username: 'dev' },
        committer: { name: 'Dev', email: 'dev@example.com', username: 'dev' },
        timestamp: '2026-11-26T20:00:00Z',
      },
    ],
    total_commits: 1,
    repository: {
      id: 140,
      owner: { id: 1, login: owner, full_name: '', email: 'dev@example.com', username: owner },
      name,
      full_name: r.fullName,
      description: '',
      private: true,
      fork: false,
      html_url: r.web,
      ssh_url: r.ssh,
      clone_url: r.http,
      website: '',
      default_branch: 'main',
    },
    pusher: { id: 1, login: 'dev', username: 'dev' },
    sender: { id: 1, login: 'dev', username: 'dev' },
  };
}

/** A push as `provider` sends it, signed with `secret` (undefined: unsigned). */
export function pushRequest(
  provider: HookProvider,
  repo: RepoNames,
  push: PushSpec,
  secret: string | undefined,
  opts: { delivery?: string; namespace?: string } = {},
): HookRequest {
  const delivery = opts.delivery ?? randomUUID();
  const path = `/${provider}${opts.namespace ? `/${opts.namespace}` : ''}`;
  const json = { 'content-type': 'application/json' };
  switch (provider) {
    case 'github': {
      const body = JSON.stringify(githubPush(repo, push));
      return {
        path,
        body,
        headers: {
          ...json,
          'x-github-event': 'push',
          'x-github-delivery': delivery,
          'x-github-hook-id': '42',
          ...(secret ? { 'x-hub-signature-256': `sha256=${hex(body, secret)}` } : {}),
        },
      };
    }
    case 'gitlab': {
      const body = JSON.stringify(gitlabPush(repo, push));
      const event = isTag(push.ref) ? 'Tag Push Hook' : 'Push Hook';
      return {
        path,
        body,
        headers: {
          ...json,
          'x-gitlab-event': event,
          'x-gitlab-event-uuid': delivery,
          'x-gitlab-instance': 'https://gitlab.example.com',
          ...(secret ? { 'x-gitlab-token': secret } : {}),
        },
      };
    }
    case 'bitbucket': {
      const body = JSON.stringify(bitbucketPush(repo, push));
      return {
        path,
        body,
        headers: {
          ...json,
          'x-event-key': 'repo:push',
          'x-request-uuid': delivery,
          'x-hook-uuid': randomUUID(),
          ...(secret ? { 'x-hub-signature': `sha256=${hex(body, secret)}` } : {}),
        },
      };
    }
    case 'bitbucket-server': {
      const body = JSON.stringify(bitbucketServerPush(repo, push));
      return {
        path,
        body,
        headers: {
          'content-type': 'application/json; charset=UTF-8',
          'x-event-key': 'repo:refs_changed',
          'x-request-id': delivery,
          ...(secret ? { 'x-hub-signature': `sha256=${hex(body, secret)}` } : {}),
        },
      };
    }
    case 'gitea': {
      const body = JSON.stringify(giteaPush(repo, push));
      return {
        path,
        body,
        headers: {
          ...json,
          'x-gitea-event': 'push',
          'x-gitea-event-type': 'push',
          'x-gitea-delivery': delivery,
          'x-github-event': 'push',
          'x-github-delivery': delivery,
          'x-gogs-event': 'push',
          'x-gogs-delivery': delivery,
          ...(secret
            ? { 'x-gitea-signature': hex(body, secret), 'x-hub-signature-256': `sha256=${hex(body, secret)}` }
            : {}),
        },
      };
    }
    case 'forgejo': {
      const body = JSON.stringify(giteaPush(repo, push));
      return {
        path,
        body,
        headers: {
          ...json,
          'x-forgejo-event': 'push',
          'x-forgejo-delivery': delivery,
          'x-gitea-event': 'push',
          'x-gitea-delivery': delivery,
          ...(secret
            ? { 'x-forgejo-signature': hex(body, secret), 'x-gitea-signature': hex(body, secret) }
            : {}),
        },
      };
    }
    case 'generic': {
      const body = JSON.stringify({ repository: repo.http, ref: push.ref });
      return {
        path,
        body,
        headers: {
          ...json,
          'x-converge-delivery': delivery,
          ...(secret ? { 'x-converge-signature': `sha256=${hex(body, secret)}` } : {}),
        },
      };
    }
  }
}

/** The provider's ping or test event (200), where it has one. */
export function pingRequest(
  provider: 'github' | 'bitbucket-server' | 'generic',
  repo: RepoNames,
  secret: string,
): HookRequest {
  const delivery = randomUUID();
  if (provider === 'github') {
    const body = JSON.stringify(githubPing(repo));
    return {
      path: '/github',
      body,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'ping',
        'x-github-delivery': delivery,
        'x-hub-signature-256': `sha256=${hex(body, secret)}`,
      },
    };
  }
  if (provider === 'bitbucket-server') {
    const body = JSON.stringify({ test: true });
    return {
      path: '/bitbucket-server',
      body,
      headers: {
        'content-type': 'application/json; charset=UTF-8',
        'x-event-key': 'diagnostics:ping',
        'x-request-id': delivery,
        'x-hub-signature': `sha256=${hex(body, secret)}`,
      },
    };
  }
  const body = '{}';
  return {
    path: '/generic',
    body,
    headers: {
      'content-type': 'application/json',
      'x-converge-event': 'ping',
      'x-converge-signature': `sha256=${hex(body, secret)}`,
    },
  };
}

/** Sends a hook request to a receiver on loopback. */
export async function sendHook(port: number, req: HookRequest): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${req.path}`, {
    method: 'POST',
    headers: req.headers,
    body: req.body,
  });
  return { status: res.status, body: await res.text() };
}
