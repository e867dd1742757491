// The one way notifications reach the network: node:http(s) with a lookup that dials only addresses the
// AddressPolicy allows (checked on the address actually connected to, so DNS rebinding cannot switch it).
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { AddressPolicy } from './address.ts';
import type { HttpRequest } from './types.ts';

/** What a service answered: status line and a bounded start of the body (never copied into status). */
export interface HttpAnswer {
  status: number;
  /** The reason phrase of the status line, as the service sent it (unsanitised). */
  reason: string;
  header(name: string): string | undefined;
  body: string;
}

export interface TransportOptions {
  signal: AbortSignal;
  /** Bytes of the body read at most; the rest is discarded. */
  maxBytes: number;
}

export type Transport = (req: HttpRequest, opts: TransportOptions) => Promise<HttpAnswer>;

/**
 * A request that cannot succeed as configured (a scheme other than http/https, an address the
 * operator's policy denies): reported at once as a configuration error, never retried.
 */
export class NotifierConfigError extends Error {
  override readonly name = 'NotifierConfigError';
}

/** Resolves every address of a name (injected by tests to play a rebinding DNS server). */
export type Resolver = (
  hostname: string,
  family: number,
  callback: (err: Error | null, addresses: LookupAddress[]) => void,
) => void;

const systemResolver: Resolver = (hostname, family, callback) =>
  dnsLookup(hostname, { all: true, family }, (err, addresses) => callback(err, addresses ?? []));

function denied(what: string, address: string, range: string): NotifierConfigError {
  return new NotifierConfigError(
    `${what}${address} is in ${range}, which the operator does not let Notifiers reach ` +
      '(--notify-deny-cidrs; an administrator can allow it with --notify-allow-cidrs)',
  );
}

export function createTransport(policy: AddressPolicy, resolve: Resolver = systemResolver): Transport {
  // Called by net.connect for every connection to a name: only allowed addresses are ever returned,
  // so the address checked is the address dialled (no second resolution in between).
  const lookup: LookupFunction = (hostname, options, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : (options.family ?? 0);
    resolve(hostname, family, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const allowed = addresses.filter((a) => policy.check(a.address).allowed);
      if (allowed.length === 0) {
        const first = addresses[0];
        const verdict = first ? policy.check(first.address) : undefined;
        const error =
          first && verdict && !verdict.allowed
            ? denied(`${hostname} resolves to `, first.address, verdict.range)
            : Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' });
        return callback(error, '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
      callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };

  return (req, opts) =>
    new Promise<HttpAnswer>((resolvePromise, reject) => {
      let url: URL;
      try {
        url = new URL(req.url);
      } catch {
        return reject(new NotifierConfigError('the address is not a valid URL'));
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        return reject(
          new NotifierConfigError(
            `the address has the scheme "${url.protocol.replace(/:$/, '').slice(0, 20)}"; only https:// and http:// are supported`,
          ),
        );
      // net.connect skips lookup for literal addresses: judge those here.
      const host = url.hostname.replace(/^\[|\]$/g, '');
      if (isIP(host)) {
        const verdict = policy.check(host);
        if (!verdict.allowed) return reject(denied('', host, verdict.range));
      }
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const outgoing = send(url, {
        method: req.method,
        headers: { ...req.headers, 'Content-Length': String(Buffer.byteLength(req.body)) },
        lookup,
        // A fresh connection per request: a pooled socket would skip the lookup above.
        agent: false,
        signal: opts.signal,
      });
      outgoing.on('error', reject);
      outgoing.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => {
          res.destroy();
          resolvePromise({
            status: res.statusCode ?? 0,
            // Node reads the status line as Latin-1: read it back as the UTF-8 a service would send.
            reason: Buffer.from(res.statusMessage ?? '', 'latin1').toString('utf8'),
            header: (name) => {
              const v = res.headers[name.toLowerCase()];
              return Array.isArray(v) ? v.join(', ') : v;
            },
            body: Buffer.concat(chunks).subarray(0, opts.maxBytes).toString('utf8'),
          });
        };
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          size += chunk.length;
          if (size >= opts.maxBytes) done();
        });
        res.on('end', done);
        res.on('error', reject);
      });
      outgoing.end(req.body);
    });
}
