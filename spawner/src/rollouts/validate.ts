/**
 * POST /rollouts bodies → RolloutSpec. Strict like every other body: unknown keys, wrong types and
 * out-of-range numbers are problem+json naming the field, before anything is stored.
 */
import type { Config } from '../config.js';
import { SpawnerError } from '../errors.js';
import { fail, isPlainObject, optInteger, optString, own } from '../api/fields.js';
import { validateImage } from '../api/image.js';
import { ENV_RULES, readStringMap } from '../api/string-map.js';
import { RESERVED_ENV } from '../instances/identity.js';
import type { RolloutSpec, RolloutTarget } from './types.js';

const KEYS = ['selector', 'target', 'canary', 'waveSize', 'waveDelaySec', 'maxFailureRatio'];
/** Glob characters plus the reference alphabet; no spaces or control characters. */
const GLOB_RE = /^[a-z0-9*][a-z0-9._/:@*-]{0,254}$/;
const NAME_GLOB_RE = /^[a-z0-9*][a-z0-9*-]{0,62}$/;
const MAX_WAVE = 100;
const MAX_DELAY_SEC = 86_400;

function object(body: Record<string, unknown>, key: string, allowed: string[]): Record<string, unknown> {
  const v = own(body, key);
  if (!isPlainObject(v)) fail('invalid_field', key, `${key} must be an object`);
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) fail('invalid_field', `${key}.${k}`, `unknown field ${key}.${k.slice(0, 40)}; allowed: ${allowed.join(', ')}`);
  }
  return v;
}

function target(body: Record<string, unknown>, cfg: Config): RolloutTarget {
  const t = object(body, 'target', ['image', 'envs']);
  const out: RolloutTarget = {};
  if (own(t, 'image') !== undefined) out.image = validateImage(own(t, 'image'), cfg.allowedImages);
  if (own(t, 'envs') !== undefined) {
    out.env = readStringMap(own(t, 'envs'), 'target.envs', ENV_RULES(cfg.maxEnv, cfg.maxEnvBytes));
    for (const k of RESERVED_ENV) {
      if (Object.hasOwn(out.env, k)) fail('invalid_field', `target.envs.${k}`, `${k} is set by the spawner; it cannot be given`);
    }
  }
  if (!out.image && !out.env) fail('invalid_field', 'target', 'target needs an image, envs, or both');
  return out;
}

export function validateRollout(body: unknown, cfg: Config): RolloutSpec {
  if (!isPlainObject(body)) throw new SpawnerError('invalid_json', 'the request body must be a JSON object');
  for (const k of Object.keys(body)) {
    if (!KEYS.includes(k)) fail('invalid_field', k.slice(0, 60), `unknown field ${k.slice(0, 40)}; allowed: ${KEYS.join(', ')}`);
  }
  const sel = object(body, 'selector', ['image', 'name']);
  const image = optString(sel, 'image', 'selector.image');
  if (!image || !GLOB_RE.test(image)) {
    fail('invalid_field', 'selector.image', 'selector.image is required: an image glob such as mock-app:* (a-z 0-9 . _ / : @ - and *)');
  }
  const name = optString(sel, 'name', 'selector.name');
  if (name !== undefined && !NAME_GLOB_RE.test(name)) {
    fail('invalid_field', 'selector.name', 'selector.name must be an instance-name glob (a-z 0-9 - and *, at most 63)');
  }
  const ratio = own(body, 'maxFailureRatio');
  if (ratio !== undefined && (typeof ratio !== 'number' || !Number.isFinite(ratio) || ratio < 0 || ratio > 1)) {
    fail('invalid_field', 'maxFailureRatio', 'maxFailureRatio must be a number from 0 to 1');
  }
  return {
    selector: name === undefined ? { image } : { image, name },
    target: target(body, cfg),
    canary: optInteger(body, 'canary', 0, MAX_WAVE) ?? 1,
    waveSize: optInteger(body, 'waveSize', 1, MAX_WAVE) ?? 5,
    waveDelaySec: optInteger(body, 'waveDelaySec', 0, MAX_DELAY_SEC) ?? 10,
    maxFailureRatio: (ratio as number | undefined) ?? 0,
  };
}
