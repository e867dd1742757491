// SigV4 against the worked examples of the AWS S3 documentation ("Signature Calculations for the
// Authorization Header: Transferring Payload in a Single Chunk").
import { describe, expect, it } from 'vitest';
import { EMPTY_SHA256, sha256Hex, signV4, uriEncode } from '../../../../src/source/s3/index.ts';
import { redact } from '../../../../src/source/index.ts';

const credentials = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};
const now = new Date('2013-05-24T00:00:00Z');
const region = 'us-east-1';

describe('signV4', () => {
  it('signs GET Object as the documentation does', () => {
    const headers: Record<string, string> = { range: 'bytes=0-9' };
    const { signature, canonicalRequest } = signV4({
      method: 'GET',
      url: new URL('https://examplebucket.s3.amazonaws.com/test.txt'),
      headers,
      payloadHash: EMPTY_SHA256,
      credentials,
      region,
      now,
    });
    expect(canonicalRequest).toBe(
      [
        'GET',
        '/test.txt',
        '',
        'host:examplebucket.s3.amazonaws.com',
        'range:bytes=0-9',
        `x-amz-content-sha256:${EMPTY_SHA256}`,
        'x-amz-date:20130524T000000Z',
        '',
        'host;range;x-amz-content-sha256;x-amz-date',
        EMPTY_SHA256,
      ].join('\n'),
    );
    expect(signature).toBe('f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
  });

  it('signs PUT Object with a body and an encoded key', () => {
    const body = 'Welcome to Amazon S3.';
    const headers: Record<string, string> = {
      date: 'Fri, 24 May 2013 00:00:00 GMT',
      'x-amz-storage-class': 'REDUCED_REDUNDANCY',
    };
    const { signature } = signV4({
      method: 'PUT',
      url: new URL(`https://examplebucket.s3.amazonaws.com/${uriEncode('test$file.text', true)}`),
      headers,
      payloadHash: sha256Hex(body),
      credentials,
      region,
      now,
    });
    expect(headers['x-amz-content-sha256']).toBe(
      '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072',
    );
    expect(signature).toBe('98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd');
  });

  it('signs a list request with its query sorted and encoded', () => {
    const { signature, canonicalRequest } = signV4({
      method: 'GET',
      url: new URL('https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J'),
      headers: {},
      payloadHash: EMPTY_SHA256,
      credentials,
      region,
      now,
    });
    expect(canonicalRequest.split('\n')[2]).toBe('max-keys=2&prefix=J');
    expect(signature).toBe('34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
  });

  it('signs the session token of temporary credentials', () => {
    const headers: Record<string, string> = {};
    signV4({
      method: 'GET',
      url: new URL('http://127.0.0.1:9000/bucket/key'),
      headers,
      payloadHash: EMPTY_SHA256,
      credentials: { ...credentials, sessionToken: 'token-123' },
      region,
      now,
    });
    expect(headers['x-amz-security-token']).toBe('token-123');
    expect(headers.host).toBe('127.0.0.1:9000');
    expect(headers.authorization).toContain(
      'SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,',
    );
  });

  it('encodes as RFC 3986 wants, keeping / only in paths', () => {
    expect(uriEncode('a b+c/d~e_f.g-h*')).toBe('a%20b%2Bc%2Fd~e_f.g-h%2A');
    expect(uriEncode('charts/ä b.tgz', true)).toBe('charts/%C3%A4%20b.tgz');
  });

  it('never lets a signature or credential reach a message', () => {
    const text =
      'GET https://b.example/k?X-Amz-Credential=AKIA%2F2013&X-Amz-Signature=abcdef0123 failed; Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, Signature=f0e8';
    const out = redact(text);
    expect(out).not.toContain('AKIA');
    expect(out).not.toContain('abcdef0123');
    expect(out).not.toContain('f0e8');
  });
});
