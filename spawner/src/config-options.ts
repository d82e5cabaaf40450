/**
 * The one table of `spawner serve` options: flag, env variable, default and meaning. cli.ts builds
 * the commander options from it, loadConfig() reads env from it, and `spawner options --markdown`
 * prints the README table from it, so the three cannot drift apart. Secrets can also come from a file
 * (SPAWNER_SERVICE_TOKEN_FILE, SPAWNER_INIT_KEY_FILE).
 */
import { readFileSync } from 'node:fs';
import { DEFAULTS, ROUTING_MODES, RUNTIME_KINDS, type Config } from './config.js';
import { SERVICE_REF_RE } from './traefik/labels.js';
import { parsePool } from './instances/subnets.js';
import { parseVolumeDefaults } from './api/volume-option.js';

type Kind = 'int' | 'number' | 'bool' | 'string' | 'list' | 'enum';
export interface OptionDef {
  path: string; // dotted path into Config
  kind: Kind;
  help: string;
  choices?: readonly string[];
  min?: number;
  max?: number;
}

const O = (path: string, kind: Kind, help: string, extra: Partial<OptionDef> = {}): OptionDef => ({ path, kind, help, ...extra });

export const OPTIONS: OptionDef[] = [
  O('runtime', 'enum', 'Instance backend: `docker` (a container per instance) or `swarm` (a Docker Swarm service per instance, scaled 0/1, routed by Traefik\'s swarm provider); never auto-detected', { choices: RUNTIME_KINDS }),
  O('apiPort', 'int', 'Port of the private deploy API', { min: 1, max: 65535 }),
  O('apiHost', 'string', 'Address the deploy API listens on; `auto`: in a container, its address on the control network plus 127.0.0.1 (unreachable from instance networks), else 0.0.0.0'),
  O('wakePort', 'int', 'Port of the public wake listener', { min: 1, max: 65535 }),
  O('wakeHost', 'string', 'Address the wake listener listens on (`auto` as for --api-host)'),
  O('dataDir', 'string', 'Directory of the SQLite state file (spawner.db)'),
  O('usersFile', 'string', 'Users file: lines `username,<hash>` (sha256 hex or `spawner hash-password` output)'),
  O('authDisabled', 'bool', 'Disable authentication of the deploy API (development only; logs a warning)'),
  O('serviceToken', 'string', 'Static token for a home app (prefer SPAWNER_SERVICE_TOKEN_FILE)'),
  O('tokenTtlSec', 'int', 'Lifetime of login tokens in seconds', { min: 60 }),
  O('spawnerId', 'string', 'Installation id written to every container label (default: generated once, kept in the database)'),
  O('containerPrefix', 'string', 'Prefix of container names'),
  O('network', 'string', 'Control network shared by Traefik, the spawner and the home app; instances never join it (each gets its own network `<network>-<container name>`)'),
  O('allowedNetworks', 'list', 'Other networks a deploy request may name; the instance joins it in addition to its own network (comma-separated)'),
  O('egressDefault', 'bool', 'Instance networks route out through the engine\'s NAT unless a deploy says `"egress": false`'),
  O('egressAllowed', 'bool', 'A deploy may ask for egress (false: every instance network is internal, no route out)'),
  O('instanceSubnets', 'string', 'IPv4 range the instance networks\' subnets are taken from (empty: the engine\'s default-address-pools)'),
  O('instanceSubnetPrefix', 'int', 'Prefix length of each instance network\'s subnet (28: 11 addresses, 4,096 networks in a /16)', { min: 16, max: 29 }),
  O('allowedImages', 'list', 'Image allowlist, comma-separated globs (`*` within a path segment, `**` across)'),
  O('stopFirstImages', 'list', 'Image globs whose redeploys are stop-first by default (apps that must not share their volume with a second copy of themselves); a deploy\'s or redeploy\'s `strategy` overrides it'),
  O('volumeDefaults', 'list', 'Managed data volume per image: comma-separated `image-glob=/path` (e.g. `mock-app:*=/data,jupyter/*=/home/jovyan`); the first match mounts the instance\'s volume there unless the deploy says otherwise'),
  O('pullTimeoutSec', 'int', 'Deadline of an image pull', { min: 1 }),
  O('cookieName', 'string', 'Name of the routing cookie'),
  O('routing', 'enum', 'Default routing mode of new instances', { choices: ROUTING_MODES }),
  O('appsDomain', 'string', 'Domain of host-mode instances: <name>.<appsDomain>'),
  O('pathPrefix', 'string', 'Path prefix of path-mode instances: /<prefix>/<name>/'),
  O('bareNameCookies', 'bool', 'Compatibility: the routing cookie is the bare instance name (no secret; anyone who knows a name can reach it)'),
  O('allowTraefikLabels', 'bool', 'Let callers pass traefik.* labels scoped to their own instance'),
  O('entrypoint', 'string', 'Traefik entrypoint of instance routers'),
  O('recoverService', 'string', 'Traefik service of the wake listener: instance routers turn Traefik\'s 502/504 (app gone under a request, e.g. mid idle stop) into a wake and a 307 back (empty: off)'),
  O('defaultPort', 'int', 'Container port of an instance when the request gives none', { min: 1, max: 65535 }),
  O('limits.memoryMb', 'int', 'Default memory limit per instance (MiB)', { min: 16 }),
  O('limits.cpus', 'number', 'Default CPU limit per instance', { min: 0.01 }),
  O('limits.pids', 'int', 'Default pids limit per instance', { min: 16 }),
  O('caps.memoryMb', 'int', 'Largest memory limit a request may ask for (MiB)', { min: 16 }),
  O('caps.cpus', 'number', 'Largest CPU limit a request may ask for', { min: 0.01 }),
  O('caps.pids', 'int', 'Largest pids limit a request may ask for', { min: 16 }),
  O('maxEnv', 'int', 'Most env variables per deploy', { min: 0 }),
  O('maxEnvBytes', 'int', 'Most bytes of env per deploy', { min: 0 }),
  O('maxLabels', 'int', 'Most labels per deploy', { min: 0 }),
  O('maxLabelBytes', 'int', 'Most bytes of labels per deploy', { min: 0 }),
  O('maxBodyBytes', 'int', 'Largest request body of the deploy API', { min: 1024 }),
  O('stopTimeoutSec', 'int', 'Grace period of a container stop before SIGKILL', { min: 0 }),
  O('traefikApiUrl', 'string', 'Traefik API base URL (routers, services, metrics)'),
  O('traefikEntrypointUrl', 'string', 'URL of Traefik\'s public entrypoint as seen from the spawner (wake probe)'),
  O('probeThroughProxy', 'bool', 'Before redirecting, check one request through Traefik reaches the app'),
  O('wakeDeadlineSec', 'int', 'Overall deadline of a wake', { min: 1 }),
  O('maxConcurrentStarts', 'int', 'Most container starts in flight; more wakes wait in line (maxQueuedWakes)', { min: 1 }),
  O('maxQueuedWakes', 'int', 'Most wakes waiting for a start slot, oldest first (each up to wakeDeadlineSec); beyond that 503 + Retry-After', { min: 0 }),
  O('healthStartIntervalMs', 'int', 'Time between an instance\'s HEALTHCHECK runs while it starts (Docker\'s StartInterval, engines with API >= 1.44; ignored on older ones): Traefik routes a HEALTHCHECK instance only once Docker says healthy', { min: 1, max: 60_000 }),
  O('healthPath', 'string', 'HTTP path probed on instances without HEALTHCHECK or health-check label (default: TCP connect)'),
  O('homeUrl', 'string', 'Where browsers without a valid cookie are sent'),
  O('loopGuardRounds', 'int', 'Rounds a client may bounce back to the listener for a ready instance before an error', { min: 1 }),
  O('idleTimeoutSec', 'int', 'Default idle timeout of instances (0 = never stop for idleness)', { min: 0 }),
  O('idleCheckSec', 'int', 'How often idleness is checked', { min: 1 }),
  O('socketProbeImage', 'string', 'Image with `cat` (e.g. the spawner\'s own) run in an instance\'s network namespace before an idle stop, to see open connections (empty: off)'),
  O('statusMetricsInstances', 'int', 'Most instances with status series of their own on /metrics (requests by class, wakes, uptime); the others are summed under instance="_other"', { min: 0, max: 10_000 }),
  O('initKey', 'string', 'Key that seals instance init data at rest (32 bytes: 64 hex or base64; prefer SPAWNER_INIT_KEY_FILE). Without it, deploys with `init` are refused, and the spawner refuses to start while instances with init exist'),
  O('initDeadlineSec', 'int', 'Default deadline of an instance\'s init (retries with capped backoff until then)', { min: 1, max: 3600 }),
  O('initMaxPayloadBytes', 'int', 'Largest init payload a deploy may send (JSON bytes)', { min: 2, max: 1_048_576 }),
  O('initMaxResultBytes', 'int', 'Largest init answer an instance may give (JSON bytes); larger is a failed init', { min: 64, max: 1_048_576 }),
  O('identityUrl', 'string', 'URL of `GET /.spawner/self` as seen from inside an instance: Traefik\'s public entrypoint (given to instances as SPAWNER_SELF_URL)'),
  O('publicUrl', 'string', 'Public base URL of Traefik\'s entrypoint (e.g. https://apps.example.com), for the URLs `/.spawner/self` reports (empty: relative)'),
  O('revisionsKeep', 'int', 'Revisions kept per instance besides the active one (older superseded or failed ones are dropped)', { min: 0, max: 1000 }),
  O('traefikDynamicDir', 'string', 'Directory watched by Traefik\'s file provider, shared with the spawner: redeploys of running instances write their switch route there (empty: such redeploys are refused)'),
  O('traefikDefaultCertificate', 'bool', 'Write a self-signed default certificate for Traefik\'s default TLS store into traefikDynamicDir at start-up (without one, Traefik makes a new RSA key on every configuration change, on the path of every wake); turn off when you configure your own default certificate'),
  O('drainDeadlineSec', 'int', 'After a redeploy\'s switch, how long the old container may finish in-flight requests (its stop timeout; WebSockets are closed then)', { min: 0, max: 3600 }),
  O('rescanSec', 'int', 'Period of the full Docker/store reconciliation', { min: 1 }),
  O('shutdownGraceSec', 'int', 'Deadline of in-flight work on SIGTERM', { min: 0 }),
  O('logLevel', 'enum', 'Log level', { choices: ['debug', 'info', 'warn', 'error'] }),
];

export const envName = (path: string) => `SPAWNER_${path.replace(/\./g, '_').replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
export const flagName = (path: string) => path.replace(/\./g, '-').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export function getPath(obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], obj);
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  const last = keys.pop() as string;
  let o = obj;
  for (const k of keys) o = o[k] as Record<string, unknown>;
  o[last] = value;
}

/** Parses one raw value; the error names the option, its env name and what is allowed. */
export function parseOption(def: OptionDef, raw: string): unknown {
  const bad = (allowed: string) => new Error(`invalid value for --${flagName(def.path)} (${envName(def.path)}): ${JSON.stringify(raw.slice(0, 80))}; allowed: ${allowed}`);
  switch (def.kind) {
    case 'int':
    case 'number': {
      const n = Number(raw);
      const okType = def.kind === 'int' ? Number.isInteger(n) : Number.isFinite(n);
      const range = `${def.kind === 'int' ? 'an integer' : 'a number'}${def.min !== undefined ? ` >= ${def.min}` : ''}${def.max !== undefined ? ` <= ${def.max}` : ''}`;
      if (raw.trim() === '' || !okType || (def.min !== undefined && n < def.min) || (def.max !== undefined && n > def.max)) throw bad(range);
      return n;
    }
    case 'bool':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw bad('true or false');
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter(Boolean);
    case 'enum':
      if (!def.choices?.includes(raw)) throw bad((def.choices ?? []).join(', '));
      return raw;
    default:
      return raw;
  }
}

/** Defaults, then env, then flags (raw strings keyed by option path). File-based secrets last. */
export function loadConfig(env: NodeJS.ProcessEnv, flags: Record<string, string | undefined> = {}): Config {
  const cfg = structuredClone(DEFAULTS) as unknown as Record<string, unknown>;
  for (const def of OPTIONS) {
    const raw = flags[def.path] ?? env[envName(def.path)];
    if (raw !== undefined) setPath(cfg, def.path, parseOption(def, raw));
  }
  const c = cfg as unknown as Config;
  const tokenFile = env.SPAWNER_SERVICE_TOKEN_FILE;
  if (!c.serviceToken && tokenFile) c.serviceToken = readFileSync(tokenFile, 'utf8').trim();
  const initKeyFile = env.SPAWNER_INIT_KEY_FILE;
  if (!c.initKey && initKeyFile) c.initKey = readFileSync(initKeyFile, 'utf8').trim();
  if (c.recoverService !== '' && !SERVICE_REF_RE.test(c.recoverService)) {
    throw new Error(`invalid value for --recover-service (SPAWNER_RECOVER_SERVICE): ${JSON.stringify(c.recoverService.slice(0, 80))}; allowed: empty, or a Traefik service name (letters, digits, - and _) with an optional @provider`);
  }
  if (c.egressDefault && !c.egressAllowed) {
    throw new Error('SPAWNER_EGRESS_DEFAULT=true needs SPAWNER_EGRESS_ALLOWED=true (the default may not exceed the cap)');
  }
  if (c.instanceSubnets !== '') parsePool(c.instanceSubnets, c.instanceSubnetPrefix);
  parseVolumeDefaults(c.volumeDefaults);
  if (c.caps.memoryMb < c.limits.memoryMb || c.caps.cpus < c.limits.cpus || c.caps.pids < c.limits.pids) {
    throw new Error('default limits (SPAWNER_LIMITS_*) must not exceed the caps (SPAWNER_CAPS_*)');
  }
  return c;
}

export function optionsMarkdown(): string {
  const rows = OPTIONS.map((d) => `| \`--${flagName(d.path)}\` | \`${envName(d.path)}\` | \`${JSON.stringify(getPath(DEFAULTS, d.path) ?? '')}\` | ${d.help}${d.choices ? ` (${d.choices.join(', ')})` : ''} |`);
  return ['| flag | env | default | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
