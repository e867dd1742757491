// The Notifier egress policy: which addresses the operator may dial for a Notifier (pure).
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_NOTIFY_DENY_CIDRS,
  createAddressPolicy,
  normalizeAddress,
  parseCidrList,
} from '../../../src/notify/index.ts';

const policy = createAddressPolicy({ deny: [...DEFAULT_NOTIFY_DENY_CIDRS, '10.96.0.0/12'] });

describe('createAddressPolicy', () => {
  it.each([
    ['127.0.0.1', '127.0.0.0/8'],
    ['127.255.0.9', '127.0.0.0/8'],
    ['::1', '::1/128'],
    ['[::1]', '::1/128'],
    ['::ffff:127.0.0.1', '127.0.0.0/8'],
    ['::ffff:7f00:1', '127.0.0.0/8'],
    ['0:0:0:0:0:ffff:a9fe:a9fe', '169.254.0.0/16'],
    ['169.254.169.254', '169.254.0.0/16'],
    ['fe80::1', 'fe80::/10'],
    ['fe80::1%eth0', 'fe80::/10'],
    ['0.0.0.0', '0.0.0.0/8'],
    ['::', '::/128'],
    ['10.96.0.10', '10.96.0.0/12'],
  ])('denies %s (in %s)', (address, range) => {
    expect(policy.check(address)).toEqual({ allowed: false, range });
  });

  it.each(['93.184.215.14', '10.0.0.1', '192.168.1.1', '2001:db8::1', '::ffff:93.184.215.14'])(
    'allows %s',
    (address) => {
      expect(policy.check(address)).toEqual({ allowed: true });
    },
  );

  it('an allow range punches a hole in the deny list, and only there', () => {
    const holed = createAddressPolicy({ deny: DEFAULT_NOTIFY_DENY_CIDRS, allow: ['127.0.0.2/32'] });
    expect(holed.check('127.0.0.2')).toEqual({ allowed: true });
    expect(holed.check('::ffff:127.0.0.2')).toEqual({ allowed: true });
    expect(holed.check('127.0.0.1')).toEqual({ allowed: false, range: '127.0.0.0/8' });
  });
});

describe('parseCidrList', () => {
  it('reads comma-separated ranges; a bare address is one host', () => {
    expect(parseCidrList(' 10.0.0.0/8, fd00::/8,,192.0.2.7 ', '--x')).toEqual([
      '10.0.0.0/8',
      'fd00::/8',
      '192.0.2.7/32',
    ]);
    expect(parseCidrList(undefined, '--x')).toEqual([]);
  });

  it.each(['10.0.0.0/33', 'example.com', '10.0.0/8', '::/129', '10.0.0.0/8/1', '10.0.0.0/-1'])(
    'refuses %s naming the flag',
    (bad) => {
      expect(() => parseCidrList(bad, '--notify-deny-cidrs')).toThrow(
        /^--notify-deny-cidrs: ".*" is not a CIDR range/,
      );
    },
  );
});

describe('normalizeAddress', () => {
  it('judges IPv4-mapped IPv6 addresses as the IPv4 they are', () => {
    expect(normalizeAddress('::ffff:10.1.2.3')).toEqual({ address: '10.1.2.3', family: 'ipv4' });
    expect(normalizeAddress('[::FFFF:0a01:0203]')).toEqual({ address: '10.1.2.3', family: 'ipv4' });
    expect(normalizeAddress('2001:DB8::1')).toEqual({ address: '2001:db8::1', family: 'ipv6' });
  });
});
