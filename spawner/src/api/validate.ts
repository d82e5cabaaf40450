/**
 * Validation of a deploy request body, before any Docker call. Either returns a DeploySpec that
 * is safe to turn into labels and a container, or throws SpawnerError with a stable code and the
 * offending field. The body stays compatible with the original Go spawner:
 * {"name","network","image","labels":{},"envs":{}} plus optional spawner-only fields.
 */
import { ROUTING_MODES, type Config, type RoutingMode } from '../config.js';
import { SpawnerError } from '../errors.js';
import type { DeploySpec } from '../instances/types.js';
import {
  clip, fail, isPlainObject, optBoolean, optInteger, optString, own, validateHealthCheck, validateInstanceName,
} from './fields.js';
import { validateImage } from './image.js';
import { validateInit } from './init-option.js';
import { validateVolume } from './volume-option.js';
import { RESERVED_ENV } from '../instances/identity.js';
import { applyLabelPolicy } from './label-policy.js';
import { validateEgress, validateLimits, validateNetwork } from './resources.js';
import { ENV_RULES, LABEL_RULES, readStringMap } from './string-map.js';
import { validateStrategy } from './redeploy-body.js';
import { SERVICE_NAME_MAX } from '../runtime/swarm-mapping.js';

export { validateName, validateInstanceName } from './fields.js';
export { globMatch } from './glob.js';

const BODY_KEYS = [
  'name', 'image', 'network', 'labels', 'envs', 'port', 'routing', 'public', 'idleTimeout', 'healthCheck', 'limits', 'init', 'egress', 'volume', 'strategy',
];

/**
 * Container settings callers sometimes try (Docker API or compose spelling). They would be
 * rejected as unknown anyway; naming them gets a clearer message. Compared without case, `_`, `-`.
 */
const NEVER_KEYS = new Set([
  'privileged', 'hostconfig', 'binds', 'volumes', 'volumesfrom', 'mounts', 'tmpfs', 'ports', 'portbindings',
  'exposedports', 'publishallports', 'networkmode', 'capadd', 'capdrop', 'user', 'devices', 'securityopt',
  'pid', 'pidmode', 'ipc', 'ipcmode', 'usernsmode', 'cgroupparent', 'sysctls', 'runtime', 'extrahosts',
  'dns', 'cmd', 'command', 'entrypoint', 'workingdir', 'restart', 'restartpolicy', 'init', 'groupadd',
]);

/** A year: idle timers beyond that are a typo, and huge values overflow timer arithmetic. */
const MAX_IDLE_TIMEOUT_SEC = 365 * 24 * 3600;

function checkKeys(body: Record<string, unknown>): void {
  for (const key of Object.keys(body)) {
    if (BODY_KEYS.includes(key)) continue;
    if (NEVER_KEYS.has(key.toLowerCase().replace(/[_-]/g, ''))) {
      fail('invalid_field', key, `${clip(key)} is never allowed: the spawner alone decides privileges, `
        + 'mounts, ports, users and network modes of instances');
    }
    fail('invalid_field', key, `unknown field ${clip(key)}; allowed: ${BODY_KEYS.join(', ')}`);
  }
}

function validateRouting(raw: unknown, dflt: RoutingMode): RoutingMode {
  if (raw === undefined) return dflt;
  if (typeof raw !== 'string' || !(ROUTING_MODES as readonly string[]).includes(raw)) {
    fail('invalid_field', 'routing', `routing must be one of: ${ROUTING_MODES.join(', ')}`);
  }
  return raw as RoutingMode;
}

/** Room kept in a Swarm service name for a revision's suffix (`_r` and up to 5 digits). */
const REVISION_SUFFIX_ROOM = 7;

/** On Swarm an instance is a service, whose name is a DNS label: prefix, name and suffix must fit. */
function fitsSwarm(name: string, prefix: string): void {
  const max = SERVICE_NAME_MAX - prefix.length - REVISION_SUFFIX_ROOM;
  if (name.length > max) {
    fail('invalid_field', 'name', `on the swarm runtime name must be at most ${max} characters (a Swarm service name is at most ${SERVICE_NAME_MAX}: "${prefix}", the name, and room for a revision's "_r<n>")`);
  }
}

export function validateDeploy(body: unknown, cfg: Config, ctx: { defaultNetwork: string }): DeploySpec {
  if (!isPlainObject(body)) throw new SpawnerError('invalid_json', 'the request body must be a JSON object');
  checkKeys(body);
  const name = validateInstanceName(own(body, 'name'));
  if (cfg.runtime === 'swarm') fitsSwarm(name, cfg.containerPrefix);
  const image = validateImage(own(body, 'image'), cfg.allowedImages);
  const network = validateNetwork(own(body, 'network'), cfg, ctx.defaultNetwork);
  const port = optInteger(body, 'port', 1, 65_535) ?? cfg.defaultPort;
  const routing = validateRouting(own(body, 'routing'), cfg.routing);
  const isPublic = optBoolean(body, 'public') ?? false;
  const idleTimeoutSec = optInteger(body, 'idleTimeout', 0, MAX_IDLE_TIMEOUT_SEC);
  const egress = validateEgress(optBoolean(body, 'egress'), cfg);
  const limits = validateLimits(own(body, 'limits'), cfg);
  const env = readStringMap(own(body, 'envs'), 'envs', ENV_RULES(cfg.maxEnv, cfg.maxEnvBytes));
  for (const k of RESERVED_ENV) {
    if (Object.hasOwn(env, k)) fail('invalid_field', `envs.${k}`, `${k} is set by the spawner (the instance's identity); it cannot be given`);
  }
  const rawLabels = readStringMap(own(body, 'labels'), 'labels', LABEL_RULES(cfg.maxLabels, cfg.maxLabelBytes));
  const policy = applyLabelPolicy(rawLabels, name, cfg.allowTraefikLabels);

  const rawHealth = optString(body, 'healthCheck');
  const bodyHealth = rawHealth === undefined ? undefined : validateHealthCheck(rawHealth, 'healthCheck');
  if (bodyHealth !== undefined && policy.healthCheck !== undefined && bodyHealth !== policy.healthCheck) {
    fail('invalid_field', 'healthCheck', 'healthCheck and the health-check label disagree; send one of them');
  }
  const healthCheck = bodyHealth ?? policy.healthCheck;

  const spec: DeploySpec = {
    name, image, network, port, routing, public: isPublic, egress,
    labels: policy.labels, traefikLabels: policy.traefikLabels, env, limits,
  };
  if (healthCheck !== undefined) spec.healthCheck = healthCheck;
  if (idleTimeoutSec !== undefined) spec.idleTimeoutSec = idleTimeoutSec;
  const init = validateInit(own(body, 'init'), cfg);
  if (init) spec.init = init;
  if (own(body, 'strategy') !== undefined) spec.strategy = validateStrategy(own(body, 'strategy'));
  const volume = validateVolume(own(body, 'volume'), image, cfg.volumeDefaults);
  if (volume) spec.volume = volume;
  return spec;
}
