/**
 * Routing values: what the `instance` cookie carries. By default `<name>.<32 hex>` where the hex is
 * a 128-bit random secret; only its sha256 is stored, so the database alone cannot route. The
 * bare-name form exists for the original scripts (documented opt-in) and for public instances.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { InstanceRecord } from './types.js';

const VALUE_RE = /^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.([a-f0-9]{32}))?$/;

export function newSecret(): string {
  return randomBytes(16).toString('hex');
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function routeValue(name: string, secret: string | null): string {
  return secret ? `${name}.${secret}` : name;
}

export interface ParsedValue {
  name: string;
  secret?: string;
}

/** Syntactic parse only; never throws; anything odd is null. */
export function parseRouteValue(raw: unknown): ParsedValue | null {
  if (typeof raw !== 'string' || raw.length > 100) return null;
  const m = VALUE_RE.exec(raw);
  if (!m || !m[1]) return null;
  return m[2] ? { name: m[1], secret: m[2] } : { name: m[1] };
}

/** Does the presented value open this instance? Constant-time on the secret. */
export function valueOpens(rec: InstanceRecord, value: ParsedValue | null): boolean {
  if (rec.public) return true;
  if (!value || value.name !== rec.name) return false;
  if (rec.secretHash === null) return value.secret === undefined;
  if (!value.secret) return false;
  const a = Buffer.from(hashSecret(value.secret), 'hex');
  const b = Buffer.from(rec.secretHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
