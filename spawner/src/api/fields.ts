/**
 * Small shared helpers for request validation: one way to fail, one way to read JSON shapes.
 * Field paths are echoed back to callers, so they are clipped to keep problem bodies small.
 */
import { SpawnerError, type ErrorCode } from '../errors.js';
import { INSTANCE_NAME_RE } from '../traefik/labels.js';

export function fail(code: ErrorCode, field: string, message: string): never {
  // Valid keys are at most 128 characters, so a valid field path is never clipped.
  throw new SpawnerError(code, message, clip(field, 160));
}

/** Clips user-controlled text (keys) before it goes into a message or field path. */
export function clip(s: string, max = 80): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** A plain JSON object (not an array, not null, not a class instance). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Reads an own property only: `body.constructor` must not find Object's constructor. */
export function own(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

export function optString(obj: Record<string, unknown>, key: string, field = key): string | undefined {
  const v = own(obj, key);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') fail('invalid_field', field, `${field} must be a string`);
  return v;
}

export function optBoolean(obj: Record<string, unknown>, key: string): boolean | undefined {
  const v = own(obj, key);
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') fail('invalid_field', key, `${key} must be true or false`);
  return v;
}

/** An integer in [min, max]; strings such as "80" are rejected, not coerced. */
export function optInteger(obj: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  const v = own(obj, key);
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    fail('invalid_field', key, `${key} must be an integer from ${min} to ${max}`);
  }
  return v;
}

/** Instance names in request bodies: the same regex that keeps Traefik router names unique. */
export function validateInstanceName(raw: unknown, field = 'name'): string {
  if (typeof raw !== 'string' || !INSTANCE_NAME_RE.test(raw)) {
    fail('invalid_field', field,
      `${field} must be 1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit`);
  }
  return raw;
}

const CONTAINER_ID_RE = /^[a-f0-9]{12,64}$/;

/**
 * A name or an instance's id (a container's 12-64 lowercase hex; a Swarm service's id is 25
 * lowercase letters and digits, which the name rule admits), as used in URL paths. Anything else,
 * including `..`, `%2e%2e` and slashes, is rejected before it can reach a Docker API path.
 */
export function validateName(raw: unknown, field = 'name'): string {
  if (typeof raw === 'string' && (INSTANCE_NAME_RE.test(raw) || CONTAINER_ID_RE.test(raw))) return raw;
  return fail('invalid_field', field, `${field} must be an instance name or a container id`);
}

/**
 * The readiness URL (`healthCheck`, or the original's `health-check` label): an absolute http(s)
 * URL without credentials, as in the original. Any host is accepted for compatibility because
 * readiness/gate.ts (probeUrl) uses only its scheme, port and path against the container's own
 * address, so the host can never aim the spawner's probe elsewhere (no SSRF).
 */
export function validateHealthCheck(raw: string, field: string): string {
  const bad = (why: string): never => fail('invalid_field', field, `${field} ${why}`);
  if (raw.length > 2048) bad('must be at most 2048 characters');
  // Whitespace, quotes, backticks and backslashes have no place in a URL we write into labels.
  if (/[\u0000-\u0020`"'\\<>\u007f-\uffff]/.test(raw)) bad('contains characters not allowed in a URL');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return bad('must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') bad('must use http or https');
  if (url.username || url.password) bad('must not contain credentials');
  return raw;
}
