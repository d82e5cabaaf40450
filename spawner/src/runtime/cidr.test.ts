import { describe, expect, it } from 'vitest';
import { overlaps, parseCidr } from './cidr.js';

describe('cidr', () => {
  it('parses an IPv4 CIDR, aligning the base down to its prefix', () => {
    expect(parseCidr('10.208.0.5/12')).toEqual({ base: 10 * 2 ** 24 + 208 * 2 ** 16, size: 2 ** 20, bits: 12 });
    expect(parseCidr(' 0.0.0.0/0 ')).toEqual({ base: 0, size: 2 ** 32, bits: 0 });
    expect(parseCidr('192.168.1.7/32')).toMatchObject({ size: 1 });
  });

  it('parses anything else to null: IPv6, out-of-range octets or prefixes, missing prefix', () => {
    for (const bad of ['fd00::/64', '256.0.0.0/8', '10.0.0.0/33', '10.0.0.0', '10.0.0/8', '']) expect(parseCidr(bad)).toBeNull();
  });

  it('overlap: containment either way and equality overlap; adjacent subnets do not', () => {
    expect(overlaps('10.208.16.32/28', '10.208.16.0/24')).toBe(true);
    expect(overlaps('10.0.0.0/8', '10.208.16.32/28')).toBe(true);
    expect(overlaps('10.208.0.0/28', '10.208.0.0/28')).toBe(true);
    expect(overlaps('10.208.0.0/28', '10.208.0.16/28')).toBe(false);
    expect(overlaps('10.208.0.16/28', '10.208.0.0/28')).toBe(false);
    expect(overlaps('172.17.0.0/16', '10.0.0.0/8')).toBe(false);
  });

  it('a subnet that is not IPv4 overlaps nothing', () => {
    expect(overlaps('fd00::/64', '10.0.0.0/8')).toBe(false);
    expect(overlaps('10.0.0.0/8', '')).toBe(false);
  });
});
