import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const noFile = (): string => {
  throw new Error('ENOENT');
};

describe('loadConfig', () => {
  it('has defaults', () => {
    expect(loadConfig({}, noFile)).toEqual({
      port: 8000,
      spawnerApiUrl: 'http://spawner:8008',
      spawnerToken: undefined,
      appImage: 'mock-app:dev',
      appEnvs: {},
      homePath: '/home',
      spawnerTimeoutMs: 30_000,
    });
  });

  it('reads everything from env, trimming the token file and trailing slashes', () => {
    const c = loadConfig(
      {
        PORT: '8100',
        SPAWNER_API_URL: 'http://127.0.0.1:9999/',
        SPAWNER_TOKEN_FILE: '/run/secrets/token',
        APP_IMAGE: 'mock-app:v2',
        APP_ENVS: '{"CONNSTR":"postgres://db"}',
        HOME_PATH: '/portal/',
      },
      (p) => (p === '/run/secrets/token' ? '  tok\n' : noFile()),
    );
    expect(c).toMatchObject({
      port: 8100,
      spawnerApiUrl: 'http://127.0.0.1:9999',
      spawnerToken: 'tok',
      appImage: 'mock-app:v2',
      appEnvs: { CONNSTR: 'postgres://db' },
      homePath: '/portal',
    });
  });

  it('prefers SPAWNER_TOKEN over the file', () => {
    expect(loadConfig({ SPAWNER_TOKEN: 'a', SPAWNER_TOKEN_FILE: '/x' }, noFile).spawnerToken).toBe('a');
  });

  it.each([
    [{ PORT: 'http' }, /PORT/],
    [{ APP_ENVS: '{' }, /APP_ENVS: not valid JSON/],
    [{ APP_ENVS: '["a"]' }, /APP_ENVS: expected a JSON object/],
    [{ APP_ENVS: '{"A":1}' }, /APP_ENVS.A: expected a string/],
    [{ HOME_PATH: 'home' }, /HOME_PATH/],
    [{ SPAWNER_API_URL: 'not a url' }, /SPAWNER_API_URL/],
    [{ SPAWNER_TOKEN_FILE: '/missing' }, /cannot read \/missing/],
  ])('rejects %j with a message naming the variable', (env, why) => {
    expect(() => loadConfig(env, noFile)).toThrow(ConfigError);
    expect(() => loadConfig(env, noFile)).toThrow(why);
  });
});
