// The pure parts of the registry client: image names, auth challenges, Link pagination, dockerconfigjson.
import { describe, expect, it } from 'vitest';
import { registryCredentials } from '../../../src/images/dockerconfig.ts';
import { nextLink, parseChallenge, parseImageName } from '../../../src/images/registry.ts';

describe('parseImageName', () => {
  it.each([
    ['nginx', 'registry-1.docker.io', 'library/nginx'],
    ['team/web', 'registry-1.docker.io', 'team/web'],
    ['docker.io/team/web', 'registry-1.docker.io', 'team/web'],
    ['ghcr.io/org/app', 'ghcr.io', 'org/app'],
    ['127.0.0.1:5000/team/web', '127.0.0.1:5000', 'team/web'],
    ['localhost/web', 'localhost', 'web'],
  ])('%s', (image, host, repository) => expect(parseImageName(image)).toEqual({ host, repository }));
});

describe('parseChallenge', () => {
  it('reads Bearer and Basic challenges', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"',
      ),
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.example/token',
        service: 'registry.example',
        scope: 'repository:a/b:pull',
      },
    });
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({
      scheme: 'basic',
      params: { realm: 'Registry Realm' },
    });
    expect(parseChallenge(null)).toBeUndefined();
  });
});

describe('nextLink', () => {
  it('resolves rel="next" against the request URL', () => {
    expect(
      nextLink('</v2/a/tags/list?last=x&n=2>; rel="next"', 'http://127.0.0.1:5000/v2/a/tags/list?n=2'),
    ).toBe('http://127.0.0.1:5000/v2/a/tags/list?last=x&n=2');
    expect(nextLink('<https://o/p>; rel="prev"', 'https://r/')).toBeUndefined();
    expect(nextLink(null, 'https://r/')).toBeUndefined();
  });
});

describe('registryCredentials', () => {
  const config = (auths: Record<string, unknown>) => ({ '.dockerconfigjson': JSON.stringify({ auths }) });

  it('takes the entry of the image host only', () => {
    const data = config({
      'https://index.docker.io/v1/': { auth: Buffer.from('hub:p1').toString('base64') },
      '127.0.0.1:5000': { username: 'u', password: 'p:with:colons' },
    });
    expect(registryCredentials(data, 's', '127.0.0.1:5000')).toEqual({
      username: 'u',
      password: 'p:with:colons',
    });
    expect(registryCredentials(data, 's', 'registry-1.docker.io')).toEqual({
      username: 'hub',
      password: 'p1',
    });
    expect(registryCredentials(data, 's', 'ghcr.io')).toBeUndefined();
  });

  it('names the secret when it is not a dockerconfigjson', () => {
    expect(() => registryCredentials({ token: 'x' }, 'regcred', 'h')).toThrow(
      /secret regcred has no ".dockerconfigjson" key/,
    );
    expect(() => registryCredentials({ '.dockerconfigjson': '{' }, 'regcred', 'h')).toThrow(/is not JSON/);
  });
});
