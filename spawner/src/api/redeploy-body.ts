/**
 * Validation of `POST /deploy/:name/revisions` (a redeploy) and `POST /deploy/:name/rollback`,
 * before any Docker call. A field sent replaces the active revision's value (envs and labels as
 * whole maps); a field not sent is kept. What names or routes the instance (name, routing, public,
 * network, egress) never changes across revisions: sending it is an error, not silently ignored.
 */
import type { Config } from '../config.js';
import type { RedeployChanges, Strategy } from '../instances/redeploy.js';
import { RESERVED_ENV } from '../instances/identity.js';
import { SpawnerError } from '../errors.js';
import { clip, fail, isPlainObject, optInteger, optString, own, validateHealthCheck } from './fields.js';
import { validateImage } from './image.js';
import { applyLabelPolicy } from './label-policy.js';
import { validateLimits } from './resources.js';
import { ENV_RULES, LABEL_RULES, readStringMap } from './string-map.js';

const KEYS = ['image', 'envs', 'labels', 'port', 'healthCheck', 'limits', 'idleTimeout', 'strategy'];
const FIXED = ['name', 'routing', 'public', 'network', 'egress', 'init'];
const STRATEGIES: readonly Strategy[] = ['start-first', 'stop-first'];
const MAX_IDLE_TIMEOUT_SEC = 365 * 24 * 3600;

function body(raw: unknown, allowed: string[]): Record<string, unknown> {
  if (!isPlainObject(raw)) throw new SpawnerError('invalid_json', 'the request body must be a JSON object');
  for (const key of Object.keys(raw)) {
    if (FIXED.includes(key)) fail('invalid_field', key, `${key} never changes across revisions (the instance keeps its name, route and cookie); delete and deploy again to change it`);
    if (!allowed.includes(key)) fail('invalid_field', key, `unknown field ${clip(key)}; allowed: ${allowed.join(', ')}`);
  }
  return raw;
}

export function validateStrategy(raw: unknown): Strategy {
  if (typeof raw !== 'string' || !(STRATEGIES as readonly string[]).includes(raw)) {
    fail('invalid_field', 'strategy', `strategy must be one of: ${STRATEGIES.join(', ')}`);
  }
  return raw as Strategy;
}

export function validateRedeploy(raw: unknown, cfg: Config, name: string): { changes: RedeployChanges; strategy?: Strategy } {
  const b = body(raw, KEYS);
  const changes: RedeployChanges = {};
  if (own(b, 'image') !== undefined) changes.image = validateImage(own(b, 'image'), cfg.allowedImages);
  if (own(b, 'envs') !== undefined) {
    const env = readStringMap(own(b, 'envs'), 'envs', ENV_RULES(cfg.maxEnv, cfg.maxEnvBytes));
    for (const k of RESERVED_ENV) {
      if (Object.hasOwn(env, k)) fail('invalid_field', `envs.${k}`, `${k} is set by the spawner (the instance's identity); it cannot be given`);
    }
    changes.env = env;
  }
  let labelHealth: string | undefined;
  if (own(b, 'labels') !== undefined) {
    const policy = applyLabelPolicy(readStringMap(own(b, 'labels'), 'labels', LABEL_RULES(cfg.maxLabels, cfg.maxLabelBytes)), name, cfg.allowTraefikLabels);
    // The new container must carry the old one's route exactly (or Traefik drops both routers).
    if (Object.keys(policy.traefikLabels).length > 0) fail('invalid_field', 'labels', 'traefik labels cannot change in a redeploy; delete and deploy again');
    changes.labels = policy.labels;
    labelHealth = policy.healthCheck;
  }
  const port = optInteger(b, 'port', 1, 65_535);
  if (port !== undefined) changes.port = port;
  const rawHealth = optString(b, 'healthCheck');
  const health = rawHealth === undefined ? labelHealth : validateHealthCheck(rawHealth, 'healthCheck');
  if (labelHealth !== undefined && health !== labelHealth) fail('invalid_field', 'healthCheck', 'healthCheck and the health-check label disagree; send one of them');
  if (health !== undefined) changes.healthCheck = health;
  if (own(b, 'limits') !== undefined) changes.limits = validateLimits(own(b, 'limits'), cfg);
  const idle = optInteger(b, 'idleTimeout', 0, MAX_IDLE_TIMEOUT_SEC);
  if (idle !== undefined) changes.idleTimeoutSec = idle;
  return { changes, ...(own(b, 'strategy') !== undefined ? { strategy: validateStrategy(own(b, 'strategy')) } : {}) };
}

export function validateRollback(raw: unknown): { revision: number; strategy?: Strategy } {
  const b = body(raw, ['revision', 'strategy']);
  const revision = optInteger(b, 'revision', 1, Number.MAX_SAFE_INTEGER);
  if (revision === undefined) fail('invalid_field', 'revision', 'revision (the number to roll back to) is required');
  return { revision, ...(own(b, 'strategy') !== undefined ? { strategy: validateStrategy(own(b, 'strategy')) } : {}) };
}
