/**
 * Reads a JSON object of string → string (envs, labels) with count and byte caps. Caps are
 * checked before per-entry work so an oversized body costs O(keys), and the result is built with
 * Object.fromEntries so a key such as `__proto__` stays an ordinary own property.
 */
import { clip, fail, isPlainObject } from './fields.js';

export interface StringMapRules {
  keyRe: RegExp;
  keyHint: string;
  maxCount: number;
  maxBytes: number;
  /** Bytes an entry costs; envs count `KEY=value`, labels key + value. */
  entryBytes: (k: string, v: string) => number;
}

export function readStringMap(raw: unknown, field: string, rules: StringMapRules): Record<string, string> {
  if (raw === undefined) return {};
  if (!isPlainObject(raw)) fail('invalid_field', field, `${field} must be an object of string values`);
  const entries = Object.entries(raw);
  if (entries.length > rules.maxCount) {
    fail('limit_exceeded', field, `${field} has ${entries.length} entries; at most ${rules.maxCount} are allowed`);
  }
  let bytes = 0;
  const out: [string, string][] = [];
  for (const [k, v] of entries) {
    const f = `${field}.${k}`;
    if (!rules.keyRe.test(k)) fail('invalid_field', f, `${field} key ${JSON.stringify(clip(k))} is invalid: ${rules.keyHint}`);
    if (typeof v !== 'string') fail('invalid_field', f, `${clip(f)} must be a string`);
    // NUL cannot cross the Docker API intact and never belongs in an env value or a label.
    if (v.includes('\u0000')) fail('invalid_field', f, `${clip(f)} must not contain NUL characters`);
    bytes += rules.entryBytes(k, v);
    out.push([k, v]);
  }
  if (bytes > rules.maxBytes) {
    fail('limit_exceeded', field, `${field} total ${bytes} bytes; at most ${rules.maxBytes} are allowed`);
  }
  return Object.fromEntries(out);
}

export const ENV_RULES = (maxCount: number, maxBytes: number): StringMapRules => ({
  keyRe: /^[A-Za-z_][A-Za-z0-9_]{0,255}$/,
  keyHint: 'letters, digits and _, not starting with a digit',
  maxCount,
  maxBytes,
  entryBytes: (k, v) => Buffer.byteLength(k) + 1 + Buffer.byteLength(v),
});

/** `_` is allowed beyond the classic key set so opt-in `spawner-i-<name>_<suffix>` keys work. */
export const LABEL_RULES = (maxCount: number, maxBytes: number): StringMapRules => ({
  keyRe: /^[A-Za-z0-9][\w./-]{0,127}$/,
  keyHint: 'at most 128 of A-Z a-z 0-9 . _ / -, starting with a letter or digit',
  maxCount,
  maxBytes,
  entryBytes: (k, v) => Buffer.byteLength(k) + Buffer.byteLength(v),
});
