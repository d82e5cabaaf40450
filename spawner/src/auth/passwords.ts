/**
 * Password hashes as found in the users file:
 *  - legacy: 64 hex chars, unsalted sha256(password) — the original spawner's format, still
 *    accepted so existing users files keep working (`isLegacyHash` lets the caller warn);
 *  - `scrypt$N$r$p$<salt b64>$<hash b64>` — salted and slow, produced by `hashPassword`.
 * Every comparison is constant-time over equal-length buffers.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const LEGACY_RE = /^[0-9a-f]{64}$/i;
const B64_RE = /^[A-Za-z0-9+/_-]+={0,2}$/;

export const SCRYPT_DEFAULTS = { N: 16_384, r: 8, p: 1, saltBytes: 16, keyBytes: 32 } as const;

interface ScryptHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

export function isLegacyHash(h: string): boolean {
  return LEGACY_RE.test(h);
}

/** Parses `scrypt$N$r$p$salt$hash`; null if malformed or if its cost is out of sane bounds. */
function parseScrypt(h: string): ScryptHash | null {
  const parts = h.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  if (!/^\d{1,8}$/.test(n) || !/^\d{1,3}$/.test(r) || !/^\d{1,3}$/.test(p)) return null;
  const N = Number(n);
  const R = Number(r);
  const P = Number(p);
  // Bounds keep a hand-edited file from making each login allocate gigabytes.
  if (N < 2 || N > 2 ** 20 || (N & (N - 1)) !== 0) return null;
  if (R < 1 || R > 32 || P < 1 || P > 16) return null;
  if (!B64_RE.test(salt) || !B64_RE.test(hash)) return null;
  const saltBuf = Buffer.from(salt, 'base64');
  const hashBuf = Buffer.from(hash, 'base64');
  if (saltBuf.length < 8 || hashBuf.length < 16 || hashBuf.length > 128) return null;
  return { N, r: R, p: P, salt: saltBuf, hash: hashBuf };
}

/** True if `h` is in a format verifyPassword understands (used to validate the users file). */
export function isSupportedHash(h: string): boolean {
  return isLegacyHash(h) || parseScrypt(h) !== null;
}

function scryptAsync(pw: string, salt: Buffer, keylen: number, o: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(pw, salt, keylen, o, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function scryptOptions(N: number, r: number, p: number): ScryptOptions {
  // Node's default maxmem (32 MiB) is too small above N=2^17; allow what the parameters need.
  return { N, r, p, maxmem: 256 * N * r + 1024 * 1024 };
}

export async function hashPassword(password: string): Promise<string> {
  const { N, r, p, saltBytes, keyBytes } = SCRYPT_DEFAULTS;
  const salt = randomBytes(saltBytes);
  const key = await scryptAsync(password, salt, keyBytes, scryptOptions(N, r, p));
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** False for a wrong password and for an unrecognised hash (never throws on bad input). */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (isLegacyHash(stored)) {
    const actual = createHash('sha256').update(password, 'utf8').digest();
    return timingSafeEqual(actual, Buffer.from(stored, 'hex'));
  }
  const s = parseScrypt(stored);
  if (!s) return false;
  const actual = await scryptAsync(password, s.salt, s.hash.length, scryptOptions(s.N, s.r, s.p));
  return timingSafeEqual(actual, s.hash);
}
