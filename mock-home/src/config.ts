/**
 * mock-home configuration from the environment. Pure apart from reading SPAWNER_TOKEN_FILE (the
 * reader is injectable), so tests can build configs without touching process.env.
 */
import { readFileSync } from 'node:fs';

export interface HomeConfig {
  port: number;
  /** Base URL of the spawner's private deploy API, without a trailing slash. */
  spawnerApiUrl: string;
  /** Service token for the deploy API; undefined when the spawner runs without auth. */
  spawnerToken: string | undefined;
  /** Image every signup deploys. */
  appImage: string;
  /** Env handed to every new app (APP_ENVS, a JSON object of strings). */
  appEnvs: Record<string, string>;
  /** Where the home pages live, e.g. "/home" (leading slash, no trailing slash). */
  homePath: string;
  /** Deploy API timeout: a deploy may pull and start a container, so be generous. */
  spawnerTimeoutMs: number;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function nonEmpty(v: string | undefined): string | undefined {
  const t = v?.trim();
  return t ? t : undefined;
}

function parsePort(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)}: expected an integer 1-65535`);
  }
  return n;
}

function parseEnvs(raw: string | undefined): Record<string, string> {
  if (raw === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError('APP_ENVS: not valid JSON; expected an object like {"CONNSTR":"..."}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('APP_ENVS: expected a JSON object of string values');
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v !== 'string') throw new ConfigError(`APP_ENVS.${k}: expected a string value`);
    out[k] = v;
  }
  return out;
}

function parseHomePath(raw: string | undefined): string {
  const p = (raw ?? '/home').replace(/\/+$/, '');
  if (!p.startsWith('/') || /[\s?#]/.test(p)) {
    throw new ConfigError(`HOME_PATH=${JSON.stringify(raw)}: expected a path such as /home`);
  }
  return p;
}

export function loadConfig(
  env: Env = process.env,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): HomeConfig {
  // An explicit token wins; otherwise a mounted secret file (Docker/compose secrets).
  let token = nonEmpty(env.SPAWNER_TOKEN);
  const tokenFile = nonEmpty(env.SPAWNER_TOKEN_FILE);
  if (!token && tokenFile) {
    try {
      token = nonEmpty(readFile(tokenFile));
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new ConfigError(`SPAWNER_TOKEN_FILE: cannot read ${tokenFile}: ${why}`);
    }
    if (!token) throw new ConfigError(`SPAWNER_TOKEN_FILE: ${tokenFile} is empty`);
  }
  const apiUrl = nonEmpty(env.SPAWNER_API_URL) ?? 'http://spawner:8008';
  if (!URL.canParse(apiUrl)) {
    throw new ConfigError(`SPAWNER_API_URL=${JSON.stringify(apiUrl)}: not a URL`);
  }
  return {
    port: parsePort(nonEmpty(env.PORT), 8000, 'PORT'),
    spawnerApiUrl: apiUrl.replace(/\/+$/, ''),
    spawnerToken: token,
    appImage: nonEmpty(env.APP_IMAGE) ?? 'mock-app:dev',
    appEnvs: parseEnvs(nonEmpty(env.APP_ENVS)),
    homePath: parseHomePath(nonEmpty(env.HOME_PATH)),
    spawnerTimeoutMs: 30_000,
  };
}
