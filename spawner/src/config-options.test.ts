import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from './config.js';
import {
  OPTIONS, envName, flagName, getPath, loadConfig, optionsMarkdown, parseOption, type OptionDef,
} from './config-options.js';

const def = (path: string): OptionDef => {
  const d = OPTIONS.find((o) => o.path === path);
  if (!d) throw new Error(`no option ${path}`);
  return d;
};

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

describe('names', () => {
  it.each([
    ['apiPort', 'SPAWNER_API_PORT', 'api-port'],
    ['authDisabled', 'SPAWNER_AUTH_DISABLED', 'auth-disabled'],
    ['limits.memoryMb', 'SPAWNER_LIMITS_MEMORY_MB', 'limits-memory-mb'],
    ['caps.cpus', 'SPAWNER_CAPS_CPUS', 'caps-cpus'],
    ['traefikApiUrl', 'SPAWNER_TRAEFIK_API_URL', 'traefik-api-url'],
    ['logLevel', 'SPAWNER_LOG_LEVEL', 'log-level'],
    ['routing', 'SPAWNER_ROUTING', 'routing'],
  ])('%s → env %s, flag --%s', (path, env, flag) => {
    expect(envName(path)).toBe(env);
    expect(flagName(path)).toBe(flag);
  });

  it('every option has a unique env name and flag name', () => {
    const envs = OPTIONS.map((o) => envName(o.path));
    const flags = OPTIONS.map((o) => flagName(o.path));
    expect(new Set(envs).size).toBe(OPTIONS.length);
    expect(new Set(flags).size).toBe(OPTIONS.length);
    for (const e of envs) expect(e).toMatch(/^SPAWNER_[A-Z0-9_]+$/);
    for (const f of flags) expect(f).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  });

  it('every option path exists in Config (default value or a known optional key)', () => {
    const optional = new Set(['serviceToken', 'spawnerId', 'healthPath', 'initKey']);
    for (const o of OPTIONS) {
      const v = getPath(DEFAULTS, o.path);
      if (v === undefined) expect(optional.has(o.path), o.path).toBe(true);
      else if (o.kind === 'int' || o.kind === 'number') expect(typeof v, o.path).toBe('number');
      else if (o.kind === 'bool') expect(typeof v, o.path).toBe('boolean');
      else if (o.kind === 'list') expect(Array.isArray(v), o.path).toBe(true);
      else expect(typeof v, o.path).toBe('string');
    }
  });

  it('every default leaf of Config can be set by an option ', () => {
    const leaves: string[] = [];
    const walk = (o: Record<string, unknown>, prefix: string) => {
      for (const [k, v] of Object.entries(o)) {
        if (v && typeof v === 'object' && !Array.isArray(v)) walk(v as Record<string, unknown>, `${prefix}${k}.`);
        else leaves.push(`${prefix}${k}`);
      }
    };
    walk(DEFAULTS as unknown as Record<string, unknown>, '');
    const paths = new Set(OPTIONS.map((o) => o.path));
    expect(leaves.filter((l) => !paths.has(l))).toEqual([]);
  });

  it('every default passes its own option check', () => {
    for (const o of OPTIONS) {
      const v = getPath(DEFAULTS, o.path);
      if (v === undefined || o.kind === 'list') continue;
      expect(parseOption(o, String(v)), o.path).toEqual(v);
    }
  });
});

describe('parseOption', () => {
  it('ints: accepts in range, rejects fractions, text, empty and out of range', () => {
    const d = def('apiPort');
    expect(parseOption(d, '8080')).toBe(8080);
    for (const bad of ['0', '65536', '80.5', 'abc', '', ' ', '12abc', 'Infinity', 'NaN']) {
      expect(() => parseOption(d, bad), bad).toThrow();
    }
  });

  it('an error names the flag, the env variable, the value and what is allowed', () => {
    const e = errorOf(() => parseOption(def('apiPort'), '99999'));
    expect(e.message).toContain('--api-port');
    expect(e.message).toContain('SPAWNER_API_PORT');
    expect(e.message).toContain('"99999"');
    expect(e.message).toContain('allowed: an integer >= 1 <= 65535');
  });

  it('numbers accept fractions but respect min', () => {
    expect(parseOption(def('limits.cpus'), '0.25')).toBe(0.25);
    const e = errorOf(() => parseOption(def('limits.cpus'), '0'));
    expect(e.message).toContain('--limits-cpus');
    expect(e.message).toContain('SPAWNER_LIMITS_CPUS');
    expect(e.message).toContain('a number >= 0.01');
    expect(() => parseOption(def('caps.cpus'), 'Infinity')).toThrow(/allowed: a number/);
  });

  it.each([
    ['true', true], ['1', true], ['yes', true], ['ON', true], ['TRUE', true],
    ['false', false], ['0', false], ['no', false], ['Off', false],
  ])('bool %s → %s', (raw, expected) => {
    expect(parseOption(def('authDisabled'), raw)).toBe(expected);
  });

  it('bool garbage is refused with "true or false"', () => {
    const e = errorOf(() => parseOption(def('authDisabled'), 'maybe'));
    expect(e.message).toMatch(/--auth-disabled \(SPAWNER_AUTH_DISABLED\): "maybe"; allowed: true or false/);
  });

  it('enums list their choices', () => {
    expect(parseOption(def('routing'), 'path')).toBe('path');
    const e = errorOf(() => parseOption(def('routing'), 'Cookie'));
    expect(e.message).toContain('--routing (SPAWNER_ROUTING)');
    expect(e.message).toContain('allowed: cookie, host, path');
    expect(errorOf(() => parseOption(def('logLevel'), 'trace')).message).toContain('debug, info, warn, error');
  });

  it('lists split on commas and drop blanks', () => {
    expect(parseOption(def('allowedImages'), ' mock-app:* , ,registry.example.com/** ')).toEqual(['mock-app:*', 'registry.example.com/**']);
    expect(parseOption(def('allowedNetworks'), '')).toEqual([]);
  });

  it('clips a huge bad value in the message', () => {
    const e = errorOf(() => parseOption(def('apiPort'), 'x'.repeat(10_000)));
    expect(e.message.length).toBeLessThan(300);
  });
});

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spawner-cfg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults when nothing is set, without sharing DEFAULTS objects', () => {
    const c = loadConfig({});
    expect(c).toEqual(DEFAULTS);
    c.limits.memoryMb = 1;
    c.allowedImages.push('x');
    expect(DEFAULTS.limits.memoryMb).toBe(256);
    expect(DEFAULTS.allowedImages).toEqual(['mock-app:*']);
  });

  it('env overrides defaults; flags override env', () => {
    const c = loadConfig(
      { SPAWNER_API_PORT: '9001', SPAWNER_WAKE_PORT: '9002', SPAWNER_LIMITS_MEMORY_MB: '512', SPAWNER_ROUTING: 'host' },
      { apiPort: '7001' },
    );
    expect(c.apiPort).toBe(7001);
    expect(c.wakePort).toBe(9002);
    expect(c.limits.memoryMb).toBe(512);
    expect(c.limits.cpus).toBe(DEFAULTS.limits.cpus);
    expect(c.routing).toBe('host');
  });

  it('a bad env value fails with the env name', () => {
    expect(() => loadConfig({ SPAWNER_MAX_CONCURRENT_STARTS: '0' })).toThrow(/SPAWNER_MAX_CONCURRENT_STARTS.*allowed: an integer >= 1/);
  });

  it.each([
    [{ SPAWNER_LIMITS_MEMORY_MB: '4096' }],
    [{ SPAWNER_LIMITS_CPUS: '3' }],
    [{ SPAWNER_LIMITS_PIDS: '2048' }],
    [{ SPAWNER_CAPS_MEMORY_MB: '128' }],
  ])('default limits above the caps are refused: %j', (env) => {
    expect(() => loadConfig(env)).toThrow(/must not exceed the caps/);
  });

  it('egress: a default beyond the cap is refused; off by default and by cap is fine', () => {
    expect(() => loadConfig({ SPAWNER_EGRESS_ALLOWED: 'false' })).toThrow(/SPAWNER_EGRESS_DEFAULT=true needs SPAWNER_EGRESS_ALLOWED=true/);
    expect(loadConfig({ SPAWNER_EGRESS_ALLOWED: 'false', SPAWNER_EGRESS_DEFAULT: 'false' }).egressAllowed).toBe(false);
  });

  it('instance subnets: a bad range is refused at start-up, naming the option; empty means the engine picks', () => {
    expect(() => loadConfig({ SPAWNER_INSTANCE_SUBNETS: '10.0.0.0/30' })).toThrow(/SPAWNER_INSTANCE_SUBNETS/);
    expect(loadConfig({ SPAWNER_INSTANCE_SUBNETS: '' }).instanceSubnets).toBe('');
  });

  it.each(['x`) || Path(`/', 'a,b', 'svc@docker@file', ' spaced', 'a'.repeat(101)])('SPAWNER_RECOVER_SERVICE %j is refused, naming the option and what is allowed', (v) => {
    expect(() => loadConfig({ SPAWNER_RECOVER_SERVICE: v })).toThrow(/--recover-service \(SPAWNER_RECOVER_SERVICE\).*allowed: empty, or a Traefik service name/);
  });

  it('SPAWNER_RECOVER_SERVICE may be empty (recovery off) or name a service of any provider', () => {
    expect(loadConfig({ SPAWNER_RECOVER_SERVICE: '' }).recoverService).toBe('');
    expect(loadConfig({ SPAWNER_RECOVER_SERVICE: 'wake@file' }).recoverService).toBe('wake@file');
    expect(loadConfig({}).recoverService).toBe('spawner-wake@docker');
  });

  it('limits equal to the caps are fine', () => {
    expect(loadConfig({ SPAWNER_LIMITS_MEMORY_MB: '2048', SPAWNER_CAPS_MEMORY_MB: '2048' }).limits.memoryMb).toBe(2048);
  });

  it('reads the service token from SPAWNER_SERVICE_TOKEN_FILE (trimmed); an explicit token wins', () => {
    const file = join(dir, 'token');
    writeFileSync(file, '  s3cret-token\n');
    expect(loadConfig({ SPAWNER_SERVICE_TOKEN_FILE: file }).serviceToken).toBe('s3cret-token');
    expect(loadConfig({ SPAWNER_SERVICE_TOKEN_FILE: file, SPAWNER_SERVICE_TOKEN: 'direct' }).serviceToken).toBe('direct');
  });

  it('reads the init key from SPAWNER_INIT_KEY_FILE (trimmed); an explicit key wins', () => {
    const file = join(dir, 'init-key');
    writeFileSync(file, `${'ab'.repeat(32)}\n`);
    expect(loadConfig({ SPAWNER_INIT_KEY_FILE: file }).initKey).toBe('ab'.repeat(32));
    expect(loadConfig({ SPAWNER_INIT_KEY_FILE: file, SPAWNER_INIT_KEY: 'cd'.repeat(32) }).initKey).toBe('cd'.repeat(32));
  });
});

describe('optionsMarkdown', () => {
  const md = optionsMarkdown();
  const lines = md.split('\n');

  it('has a header, a separator and exactly one row per option', () => {
    expect(lines[0]).toBe('| flag | env | default | meaning |');
    expect(lines[1]).toBe('| --- | --- | --- | --- |');
    expect(lines).toHaveLength(OPTIONS.length + 2);
  });

  it('each row names the flag, the env variable, the default and the help', () => {
    OPTIONS.forEach((o, i) => {
      const row = lines[i + 2] ?? '';
      expect(row.startsWith(`| \`--${flagName(o.path)}\` | \`${envName(o.path)}\` | `), o.path).toBe(true);
      expect(row).toContain(o.help);
      expect(row.split(' | ')).toHaveLength(4);
      if (o.choices) expect(row).toContain(`(${o.choices.join(', ')})`);
    });
    expect(md).toContain('| `--api-port` | `SPAWNER_API_PORT` | `8008` |');
    expect(md).toContain('| `--allowed-images` | `SPAWNER_ALLOWED_IMAGES` | `["mock-app:*"]` |');
  });
});

describe('README options table', () => {
  it('is exactly what `spawner options --markdown` prints (one source, no drift)', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(optionsMarkdown());
  });
});
