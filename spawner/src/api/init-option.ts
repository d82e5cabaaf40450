/**
 * The deploy body's `init` option, validated strictly: the path is sent to the instance's own
 * address only, but it is still input (no `..`, no `//`, no query, no odd bytes); the payload is
 * a JSON object under a size cap; unknown keys are refused.
 */
import type { Config } from '../config.js';
import type { InitSpec } from '../instances/init.js';
import { clip, fail, isPlainObject, own } from './fields.js';

const KEYS = ['path', 'payload', 'when', 'deadlineSec'];
const WHEN = ['once', 'every-start'] as const;
/** Segments of RFC 3986 unreserved characters; `.` and `..` segments are refused separately. */
const PATH_RE = /^(?:\/[A-Za-z0-9._~-]+)+\/?$|^\/$/;
const MAX_PATH = 200;

export function validateInit(raw: unknown, cfg: Config): InitSpec | undefined {
  if (raw === undefined) return undefined;
  if (!isPlainObject(raw)) fail('invalid_field', 'init', 'init must be an object: {"path": "/init", "payload": {...}, "when": "once" | "every-start", "deadlineSec": N}');
  for (const k of Object.keys(raw)) {
    if (!KEYS.includes(k)) fail('invalid_field', `init.${clip(k, 40)}`, `unknown field init.${clip(k, 40)}; allowed: ${KEYS.join(', ')}`);
  }
  const path = own(raw, 'path');
  if (typeof path !== 'string' || path.length > MAX_PATH || !PATH_RE.test(path) || path.split('/').some((s) => s === '.' || s === '..')) {
    fail('invalid_field', 'init.path', `init.path must be an absolute path of letters, digits and . _ ~ - segments (no . or .. segments, no query), at most ${MAX_PATH} characters`);
  }
  const payload = own(raw, 'payload') ?? {};
  if (!isPlainObject(payload)) fail('invalid_field', 'init.payload', 'init.payload must be a JSON object');
  if (Buffer.byteLength(JSON.stringify(payload)) > cfg.initMaxPayloadBytes) {
    fail('limit_exceeded', 'init.payload', `init.payload is larger than ${cfg.initMaxPayloadBytes} bytes of JSON`);
  }
  const when = own(raw, 'when') ?? 'once';
  if (typeof when !== 'string' || !(WHEN as readonly string[]).includes(when)) fail('invalid_field', 'init.when', `init.when must be one of: ${WHEN.join(', ')}`);
  const deadline = own(raw, 'deadlineSec') ?? cfg.initDeadlineSec;
  if (typeof deadline !== 'number' || !Number.isInteger(deadline) || deadline < 1 || deadline > 3600) {
    fail('invalid_field', 'init.deadlineSec', 'init.deadlineSec must be an integer from 1 to 3600');
  }
  return { path, payload, when: when as InitSpec['when'], deadlineSec: deadline };
}
