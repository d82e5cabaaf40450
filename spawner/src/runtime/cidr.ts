/** IPv4 CIDR arithmetic for subnets (pure). IPv6 and malformed strings parse to null. */
export interface Range { base: number; size: number; bits: number }

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** `10.208.0.5/12` → the /12 it lies in (base aligned down); null when not an IPv4 CIDR. */
export function parseCidr(cidr: string): Range | null {
  const m = CIDR.exec(cidr.trim());
  if (!m) return null;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return null;
  const addr = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - bits);
  return { base: addr - (addr % size), size, bits };
}

/** True when the two subnets share an address; false when either is not an IPv4 CIDR. */
export function overlaps(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (!x || !y) return false;
  return x.base < y.base + y.size && y.base < x.base + x.size;
}
