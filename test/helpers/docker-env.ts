/**
 * Image tags for e2e tests, so no test hardcodes one.
 *
 * Defaults come from scripts/versions.env (the one place where versions and tags are pinned, also
 * read by scripts/images.sh); an environment variable of the same name overrides each tag, exactly
 * as in the scripts: TRAEFIK_IMAGE, NODE_IMAGE, SPAWNER_IMAGE, MOCK_APP_IMAGE, MOCK_HOME_IMAGE.
 * The images themselves are made by scripts/setup.sh (or scripts/images.sh).
 */
import { readFileSync } from 'node:fs';

const VERSIONS_FILE = new URL('../../scripts/versions.env', import.meta.url);

/** Plain KEY=value lines of versions.env; comments and blank lines ignored. */
function readVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of readFileSync(VERSIONS_FILE, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

const versions = readVersions();

function pinned(key: string): string {
  const value = versions[key];
  if (value === undefined || value === '') {
    throw new Error(`scripts/versions.env has no ${key}`);
  }
  return value;
}

function fromEnv(name: string, fallback: string): string {
  const value = process.env[name];
  return value !== undefined && value !== '' ? value : fallback;
}

export const TRAEFIK_VERSION: string = pinned('TRAEFIK_VERSION');

export interface ImageTags {
  readonly traefik: string;
  readonly node: string;
  readonly spawner: string;
  readonly mockApp: string;
  readonly mockHome: string;
  /** The second mock-app tag (other OCI labels), built by scripts/images.sh. */
  readonly mockAppAlt: string;
}

export const IMAGES: ImageTags = Object.freeze({
  traefik: fromEnv('TRAEFIK_IMAGE', `traefik:v${TRAEFIK_VERSION}`),
  node: fromEnv('NODE_IMAGE', pinned('DEFAULT_NODE_IMAGE')),
  spawner: fromEnv('SPAWNER_IMAGE', pinned('DEFAULT_SPAWNER_IMAGE')),
  mockApp: fromEnv('MOCK_APP_IMAGE', pinned('DEFAULT_MOCK_APP_IMAGE')),
  mockHome: fromEnv('MOCK_HOME_IMAGE', pinned('DEFAULT_MOCK_HOME_IMAGE')),
  mockAppAlt: fromEnv('MOCK_APP_ALT_IMAGE', `${fromEnv('MOCK_APP_IMAGE', pinned('DEFAULT_MOCK_APP_IMAGE'))}-v2`),
});

/** TRAEFIK_IMAGE is also exported on its own for compose-style call sites. */
export const TRAEFIK_IMAGE: string = IMAGES.traefik;
