// Which addresses a Notifier may make the operator dial: an operator-level deny list of CIDR ranges
// (loopback, link-local, unspecified and the cluster's service range by default) with allowed holes.
import { BlockList, isIP } from 'node:net';

/** Loopback, link-local (cloud metadata at 169.254.169.254 included) and unspecified addresses. */
export const DEFAULT_NOTIFY_DENY_CIDRS: readonly string[] = [
  '127.0.0.0/8',
  '::1/128',
  '169.254.0.0/16',
  'fe80::/10',
  '0.0.0.0/8',
  '::/128',
];

interface Range {
  cidr: string;
  list: BlockList;
}

/** The verdict on one address: allowed, or the deny range it falls in. */
export type AddressVerdict = { allowed: true } | { allowed: false; range: string };

export interface AddressPolicy {
  check(address: string): AddressVerdict;
  /** The deny ranges, for the start-up log. */
  readonly deny: readonly string[];
  readonly allow: readonly string[];
}

/** `10.0.0.0/8` → a one-range BlockList; throws naming the text when it is not a CIDR (or a bare address). */
function parseRange(text: string, flag: string): Range {
  const cidr = text.trim();
  const [address = '', prefixText, extra] = cidr.split('/');
  const family = isIP(address);
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!family || extra !== undefined || !/^\d{1,3}$/.test(prefixText ?? String(max)) || prefix > max)
    throw new Error(`${flag}: "${cidr}" is not a CIDR range such as 10.96.0.0/12 or fd00::/8`);
  const list = new BlockList();
  list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
  return { cidr: prefixText === undefined ? `${address}/${max}` : cidr, list };
}

/** Splits a comma-separated flag value into ranges; empty items are ignored. */
export function parseCidrList(value: string | undefined, flag: string): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => parseRange(s, flag).cidr);
}

/**
 * `::ffff:127.0.0.1` and `::ffff:7f00:1` are IPv4 127.0.0.1 on the wire: judge them as IPv4, so an
 * IPv4 deny range cannot be dodged by writing the address the IPv6 way.
 */
export function normalizeAddress(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (isIP(bare) === 4) return { address: bare, family: 'ipv4' };
  // The URL parser writes IPv6 canonically: a mapped address is always `::ffff:xxxx:xxxx` there.
  let canonical: string;
  try {
    canonical = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  } catch {
    return { address: bare, family: 'ipv6' };
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (mapped) {
    const hi = parseInt(mapped[1]!, 16);
    const lo = parseInt(mapped[2]!, 16);
    return { address: `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, family: 'ipv4' };
  }
  return { address: canonical, family: 'ipv6' };
}

/** An address is denied when a deny range holds it and no allow range does. */
export function createAddressPolicy(opts: {
  deny: readonly string[];
  allow?: readonly string[];
}): AddressPolicy {
  const deny = opts.deny.map((c) => parseRange(c, '--notify-deny-cidrs'));
  const allow = (opts.allow ?? []).map((c) => parseRange(c, '--notify-allow-cidrs'));
  const holds = (r: Range, a: { address: string; family: 'ipv4' | 'ipv6' }) =>
    r.list.check(a.address, a.family);
  return {
    deny: deny.map((r) => r.cidr),
    allow: allow.map((r) => r.cidr),
    check(address) {
      const a = normalizeAddress(address);
      if (allow.some((r) => holds(r, a))) return { allowed: true };
      const hit = deny.find((r) => holds(r, a));
      return hit ? { allowed: false, range: hit.cidr } : { allowed: true };
    },
  };
}

/** A policy that allows every address (unit tests of providers and the sender against loopback fakes). */
export const ALLOW_ALL: AddressPolicy = createAddressPolicy({ deny: [] });
