import { describe, expect, it } from 'vitest';
import { candidates, parsePool, subnetAt } from './subnets.js';

describe('instance subnet pool', () => {
  it('a /12 in /28s holds 65,536 networks, aligned on the range', () => {
    const pool = parsePool('10.208.0.0/12', 28);
    expect(pool.slots).toBe(65_536);
    expect(subnetAt(pool, 0)).toBe('10.208.0.0/28');
    expect(subnetAt(pool, 1)).toBe('10.208.0.16/28');
    expect(subnetAt(pool, 65_535)).toBe('10.223.255.240/28');
    expect(subnetAt(pool, 65_536)).toBe('10.208.0.0/28'); // wraps, never leaves the range
  });

  it('an unaligned base is aligned down to its prefix', () => {
    expect(subnetAt(parsePool('10.208.3.7/16', 28), 0)).toBe('10.208.0.0/28');
  });

  it.each([
    ['not a cidr', 'ten.0.0.0/8'],
    ['octet out of range', '10.300.0.0/16'],
    ['prefix out of range', '10.0.0.0/33'],
    ['range smaller than one subnet', '10.0.0.0/30'],
  ])('refuses %s, naming the option', (_desc, cidr) => {
    expect(() => parsePool(cidr, 28)).toThrow(/SPAWNER_INSTANCE_SUBNETS/);
  });

  it('candidates start at a slot of the name, skip used subnets and stop at the limit', () => {
    const pool = parsePool('10.208.0.0/24', 28);
    const all = candidates(pool, 'alice', new Set(), 100);
    expect(all).toHaveLength(16);
    expect(new Set(all).size).toBe(16);
    expect(candidates(pool, 'alice', new Set(), 100)).toEqual(all); // stable per name
    const used = new Set([all[0] as string, all[1] as string]);
    expect(candidates(pool, 'alice', used, 3)).toEqual(all.slice(2, 5));
  });
});
