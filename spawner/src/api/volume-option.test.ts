/**
 * The deploy body's `volume` option and SPAWNER_VOLUME_DEFAULTS: a request names only a mount
 * path (strictly checked) and whether it takes a retained volume back; never a volume or a host path.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULTS, type Config } from '../config.js';
import { loadConfig } from '../config-options.js';
import { thrown } from '../testing/fixtures.js';
import { validateDeploy } from './validate.js';
import { defaultVolumePath, parseVolumeDefaults, validateVolume, volumePathProblem } from './volume-option.js';

const cfg = (over: Partial<Config> = {}): Config => ({ ...structuredClone(DEFAULTS), ...over });
const deploy = (volume: unknown, over: Partial<Config> = {}) =>
  validateDeploy({ name: 'alice', image: 'mock-app:latest', ...(volume === undefined ? {} : { volume }) }, cfg(over), { defaultNetwork: 'spawner' });

describe('volume.path', () => {
  it.each(['/data', '/home/jovyan', '/var/lib/app-1/state.d', '/a', '/x/.hidden', `/${'a'.repeat(199)}`])('accepts %s', (path) => {
    expect(volumePathProblem(path)).toBeNull();
    expect(deploy({ path }).volume).toEqual({ path });
  });

  it.each([
    ['relative', 'data'],
    ['the root', '/'],
    ['empty', ''],
    ['a double slash', '//data'],
    ['a trailing slash', '/data/'],
    ['a .. segment', '/data/../etc'],
    ['a leading .. segment', '/../host'],
    ['a . segment', '/./data'],
    ['bind syntax', '/var/run/docker.sock:/data'],
    ['bind syntax with mode', '/srv:/data:rw'],
    ['a Windows path', 'C:\\data'],
    ['a space', '/my data'],
    ['a NUL byte', '/data\u0000x'],
    ['a newline', '/data\n/etc'],
    ['unicode', '/dаta'],
    ['a glob', '/data/*'],
    ['/proc', '/proc'],
    ['under /proc', '/proc/self/root'],
    ['under /sys', '/sys/fs/cgroup'],
    ['/dev', '/dev'],
    ['under /dev', '/dev/shm'],
    ['too long', `/${'a'.repeat(200)}`],
    ['huge', `/${'a/'.repeat(50_000)}a`],
  ])('refuses %s', (_why, path) => {
    expect(volumePathProblem(path)).not.toBeNull();
    const e = thrown(() => deploy({ path }));
    expect(e.code).toBe('invalid_field');
    expect(e.field).toBe('volume.path');
    expect(e.message.length).toBeLessThan(300); // the huge input is not echoed back
  });

  it('/procfs, /system and /device are ordinary paths (only the trees themselves are refused)', () => {
    for (const p of ['/procfs', '/system', '/device']) expect(volumePathProblem(p)).toBeNull();
  });

  it.each([42, null, ['/data'], { p: 1 }])('refuses a path that is not a string: %j', (path) => {
    expect(thrown(() => deploy({ path })).field).toBe('volume.path');
  });
});

describe('the volume object', () => {
  it.each(['name', 'source', 'type', 'bind', 'driver', 'host', 'readOnly', '__proto__x'])('refuses the key %s: the spawner names the volume', (k) => {
    const e = thrown(() => deploy({ path: '/data', [k]: 'other-volume' }));
    expect(e.code).toBe('invalid_field');
    expect(e.field).toBe(`volume.${k}`);
    expect(e.message).toMatch(/allowed: path, reuse/);
  });

  it.each(['/data', 'spawner-bob-data', true, 1, ['/data']])('refuses a volume that is not an object: %j', (v) => {
    expect(thrown(() => deploy(v)).field).toBe('volume');
  });

  it('reuse is a boolean, kept when given', () => {
    expect(deploy({ path: '/data', reuse: true }).volume).toEqual({ path: '/data', reuse: true });
    expect(deploy({ path: '/data', reuse: false }).volume).toEqual({ path: '/data', reuse: false });
    expect(thrown(() => deploy({ path: '/data', reuse: 'yes' })).field).toBe('volume.reuse');
  });

  it('the Docker spellings stay forbidden at the top level', () => {
    for (const key of ['volumes', 'mounts', 'binds', 'Binds', 'volumes_from']) {
      const e = thrown(() => validateDeploy({ name: 'a', image: 'mock-app:1', [key]: ['/:/host'] }, cfg(), { defaultNetwork: 'spawner' }));
      expect(e.field).toBe(key);
      expect(e.message).toMatch(/never allowed/);
    }
  });

  it('no volume without the option or a default', () => {
    expect(deploy(undefined).volume).toBeUndefined();
  });

  it('a path is required when no default matches the image', () => {
    const e = thrown(() => deploy({ reuse: true }));
    expect(e.field).toBe('volume.path');
    expect(e.message).toMatch(/no default mount path/);
  });
});

describe('operator defaults per image glob (SPAWNER_VOLUME_DEFAULTS)', () => {
  const defaults = ['mock-app:*=/data', 'jupyter/*=/home/jovyan', 'mock-app:special=/never'];

  it('the first matching glob gives the path', () => {
    expect(defaultVolumePath(defaults, 'mock-app:latest')).toBe('/data');
    expect(defaultVolumePath(defaults, 'mock-app:special')).toBe('/data');
    expect(defaultVolumePath(defaults, 'jupyter/base-notebook')).toBe('/home/jovyan');
    expect(defaultVolumePath(defaults, 'jupyter/a/b')).toBeUndefined(); // `*` stays in one segment
    expect(defaultVolumePath(defaults, 'other:1')).toBeUndefined();
  });

  it('applies to a deploy without the option; the request may change the path or ask for reuse', () => {
    expect(deploy(undefined, { volumeDefaults: defaults }).volume).toEqual({ path: '/data' });
    expect(deploy({ path: '/state' }, { volumeDefaults: defaults }).volume).toEqual({ path: '/state' });
    expect(deploy({ reuse: true }, { volumeDefaults: defaults }).volume).toEqual({ path: '/data', reuse: true });
  });

  it('is read from the environment and checked like a request path', () => {
    expect(loadConfig({ SPAWNER_VOLUME_DEFAULTS: 'mock-app:*=/data, jupyter/*=/home/jovyan' }).volumeDefaults)
      .toEqual(['mock-app:*=/data', 'jupyter/*=/home/jovyan']);
    for (const bad of ['mock-app:*', '=/data', 'mock-app:*=data', 'mock-app:*=/proc/x', 'mock-app:*=/a/../b', 'x=/host:/data']) {
      expect(() => loadConfig({ SPAWNER_VOLUME_DEFAULTS: bad })).toThrow(/SPAWNER_VOLUME_DEFAULTS/);
    }
  });

  it('parses glob=path pairs', () => {
    expect(parseVolumeDefaults(['a/*=/x'])).toEqual([{ glob: 'a/*', path: '/x' }]);
    expect(validateVolume(undefined, 'a/b', ['a/*=/x'])).toEqual({ path: '/x' });
  });
});
