/**
 * The deploy body's `volume` option and the operator's defaults per image (SPAWNER_VOLUME_DEFAULTS).
 * A request says only WHERE the data goes inside its container and whether it accepts a retained
 * volume of its name; the volume's name, driver and labels are the spawner's (instances/volumes.ts),
 * so no request can ever name a volume, a host path or another instance's data.
 */
import { globMatch } from './glob.js';
import { clip, fail, isPlainObject, own } from './fields.js';

const KEYS = ['path', 'reuse'];
const MAX_PATH = 200;
/** Absolute, normalized (no `//`, no trailing `/`), segments of letters, digits and `. _ -`. */
const PATH_RE = /^(?:\/[A-Za-z0-9._-]+)+$/;
/** Kernel and device trees: a volume over them breaks the container or hides what it must see. */
const FORBIDDEN_ROOTS = ['/proc', '/sys', '/dev'];

export interface VolumeOption { path: string; reuse?: boolean }

/** Why `path` is not an acceptable mount path, or null when it is. */
export function volumePathProblem(path: unknown): string | null {
  if (typeof path !== 'string') return 'must be a string';
  if (path.length > MAX_PATH) return `must be at most ${MAX_PATH} characters`;
  if (!PATH_RE.test(path)) return 'must be an absolute, normalized path of letters, digits and . _ - segments (not /, no //, no trailing /)';
  if (path.split('/').some((s) => s === '.' || s === '..')) return 'must not contain . or .. segments';
  const root = FORBIDDEN_ROOTS.find((r) => path === r || path.startsWith(`${r}/`));
  if (root) return `must not be ${root} or under it`;
  return null;
}

/** `glob=path` entries of SPAWNER_VOLUME_DEFAULTS; throws naming the bad entry. */
export function parseVolumeDefaults(entries: readonly string[]): { glob: string; path: string }[] {
  return entries.map((e) => {
    const i = e.indexOf('=');
    const glob = e.slice(0, i).trim();
    const path = e.slice(i + 1).trim();
    const problem = i <= 0 ? 'expected image-glob=/path' : volumePathProblem(path);
    if (problem) throw new Error(`invalid value for --volume-defaults (SPAWNER_VOLUME_DEFAULTS): ${JSON.stringify(clip(e))}: ${problem}`);
    return { glob, path };
  });
}

/** The operator's default mount path for an image: the first matching glob wins. */
export function defaultVolumePath(entries: readonly string[], image: string): string | undefined {
  return parseVolumeDefaults(entries).find((d) => globMatch(d.glob, image))?.path;
}

export function validateVolume(raw: unknown, image: string, defaults: readonly string[]): VolumeOption | undefined {
  const dflt = defaultVolumePath(defaults, image);
  if (raw === undefined) return dflt === undefined ? undefined : { path: dflt };
  if (!isPlainObject(raw)) fail('invalid_field', 'volume', 'volume must be an object: {"path": "/data", "reuse": true}');
  for (const k of Object.keys(raw)) {
    if (!KEYS.includes(k)) {
      fail('invalid_field', `volume.${clip(k, 40)}`, `unknown field volume.${clip(k, 40)}; allowed: ${KEYS.join(', ')} (the spawner names the volume itself, after the instance; host paths are never mounted)`);
    }
  }
  const path = own(raw, 'path') ?? dflt;
  if (path === undefined) fail('invalid_field', 'volume.path', `volume.path is required: no default mount path is configured for image ${clip(image)}`);
  const problem = volumePathProblem(path);
  if (problem) fail('invalid_field', 'volume.path', `volume.path ${problem}`);
  const reuse = own(raw, 'reuse');
  if (reuse !== undefined && typeof reuse !== 'boolean') fail('invalid_field', 'volume.reuse', 'volume.reuse must be true or false');
  return reuse === undefined ? { path: path as string } : { path: path as string, reuse };
}
