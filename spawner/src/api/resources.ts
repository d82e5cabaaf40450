/** Network choice and resource limits of a deploy. */
import type { Config } from '../config.js';
import { fail, isPlainObject, own } from './fields.js';

/**
 * Network modes and special networks that would escape isolation (`host` shares the host's
 * stack, `container:<id>` another container's, `none`/`bridge`/`default` bypass the routed
 * network). Refused even if an operator listed one in allowedNetworks.
 */
const NEVER_NETWORKS = new Set(['host', 'none', 'bridge', 'default']);
const NETWORK_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function validateNetwork(raw: unknown, cfg: Config, defaultNetwork: string): string {
  if (raw !== undefined && typeof raw !== 'string') fail('invalid_field', 'network', 'network must be a string');
  const net = raw ?? defaultNetwork;
  const lower = net.toLowerCase();
  if (NEVER_NETWORKS.has(lower) || lower.startsWith('container:')) {
    fail('network_not_allowed', 'network', `network ${net} is never allowed`);
  }
  if (!NETWORK_RE.test(net)) fail('invalid_field', 'network', 'network must be a Docker network name');
  if (net !== defaultNetwork && !cfg.allowedNetworks.includes(net)) {
    const allowed = [defaultNetwork, ...cfg.allowedNetworks].join(', ');
    fail('network_not_allowed', 'network', `network ${net} is not allowed; allowed: ${allowed}`);
  }
  return net;
}

/** Egress of the instance's own network: the config's default, never beyond its cap. */
export function validateEgress(raw: boolean | undefined, cfg: Config): boolean {
  const egress = raw ?? cfg.egressDefault;
  if (egress && !cfg.egressAllowed) fail('network_not_allowed', 'egress', 'egress is not allowed on this spawner; instances have no route out');
  return egress;
}

type Limits = Config['limits'];
const LIMIT_KEYS = ['memoryMb', 'cpus', 'pids'] as const;
/** cpus may be fractional (0.5 = half a core); memory and pids are whole numbers. */
const INTEGER_LIMITS = new Set<string>(['memoryMb', 'pids']);

/** Each limit defaults to cfg.limits and must lie in (0, cfg.caps]. */
export function validateLimits(raw: unknown, cfg: Config): Limits {
  if (raw === undefined) return { ...cfg.limits };
  if (!isPlainObject(raw)) fail('invalid_field', 'limits', 'limits must be an object {memoryMb, cpus, pids}');
  for (const k of Object.keys(raw)) {
    if (!(LIMIT_KEYS as readonly string[]).includes(k)) {
      fail('invalid_field', `limits.${k}`, `unknown limit ${k}; allowed: ${LIMIT_KEYS.join(', ')}`);
    }
  }
  const out: Limits = { ...cfg.limits };
  for (const k of LIMIT_KEYS) {
    const v = own(raw, k);
    if (v === undefined) continue;
    const field = `limits.${k}`;
    if (typeof v !== 'number' || !Number.isFinite(v) || (INTEGER_LIMITS.has(k) && !Number.isInteger(v))) {
      fail('invalid_field', field, `${field} must be a ${INTEGER_LIMITS.has(k) ? 'whole ' : ''}number`);
    }
    if (v <= 0 || v > cfg.caps[k]) {
      fail('limit_exceeded', field, `${field} must be greater than 0 and at most ${cfg.caps[k]}`);
    }
    out[k] = v;
  }
  return out;
}
