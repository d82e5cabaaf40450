/**
 * Subnets of instance networks, taken from one configured IPv4 range so that 1,000 networks fit
 * whatever the engine's default-address-pools say (Docker's defaults give a few dozen bridge
 * networks). Pure: the runtime refuses a subnet that overlaps another network's, and the caller
 * then tries the next candidate.
 */
import { parseCidr } from '../runtime/cidr.js';

export interface Pool { base: number; size: number; prefix: number; slots: number }

/** Throws with a message naming the option when the range is not a CIDR or smaller than one subnet. */
export function parsePool(cidr: string, prefix: number): Pool {
  const bad = (why: string) => new Error(`invalid value for --instance-subnets (SPAWNER_INSTANCE_SUBNETS): ${JSON.stringify(cidr.slice(0, 40))}; ${why}`);
  const range = parseCidr(cidr);
  if (!range) throw bad('allowed: an IPv4 CIDR such as 10.208.0.0/12, or empty');
  if (range.bits > prefix) throw bad(`the range must be at least as large as one /${prefix} subnet`);
  return { base: range.base, size: range.size, prefix, slots: 2 ** (prefix - range.bits) };
}

export function subnetAt(pool: Pool, slot: number): string {
  const addr = pool.base + (slot % pool.slots) * 2 ** (32 - pool.prefix);
  const o = [24, 16, 8, 0].map((s) => Math.floor(addr / 2 ** s) % 256);
  return `${o.join('.')}/${pool.prefix}`;
}

/** FNV-1a: a stable first slot per instance name, so concurrent deploys rarely pick the same one. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * Candidate subnets for an instance, in order: from its name's slot on, skipping the ones this
 * installation already uses. At most `limit` candidates (the whole pool if smaller).
 */
export function candidates(pool: Pool, name: string, used: ReadonlySet<string>, limit: number): string[] {
  const out: string[] = [];
  const first = hash(name) % pool.slots;
  for (let i = 0; i < pool.slots && out.length < limit; i++) {
    const s = subnetAt(pool, first + i);
    if (!used.has(s)) out.push(s);
  }
  return out;
}
