import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { leftoverSwitches, removeSwitch, switchConfig, switchPriority, writeSwitch } from './switch-file.js';
import { instanceRouterOf, routeValueOf } from './label-read.js';
import { instanceLabels } from './labels.js';

const router = { rule: 'HeaderRegexp(`Cookie`, `x`)', entrypoints: ['web'], middlewares: ['spawner-i-a__recover'] };
const TOKEN = 'ab'.repeat(32);

describe('switchConfig', () => {
  it('routes every request of the instance to one server, one priority above its own router', () => {
    expect(switchConfig({ name: 'a', router, serve: 'http://10.0.0.2:9000' })).toEqual({ http: {
      routers: { 'spawner-switch-a': { rule: router.rule, priority: router.rule.length + 1, entryPoints: ['web'], middlewares: ['spawner-i-a__recover@docker'], service: 'spawner-switch-a' } },
      services: { 'spawner-switch-a': { loadBalancer: { servers: [{ url: 'http://10.0.0.2:9000' }] } } },
    } });
  });

  it('names the middlewares as the instances\' provider defines them: @swarm on the swarm runtime', () => {
    const c = switchConfig({ name: 'a', router, serve: 'http://10.0.0.2:9000', provider: 'swarm' }) as { http: { routers: Record<string, { middlewares: string[] }> } };
    expect(c.http.routers['spawner-switch-a']?.middlewares).toEqual(['spawner-i-a__recover@swarm']);
    expect(() => switchConfig({ name: 'a', router, serve: 'http://10.0.0.2:9000', provider: 'file' as never })).toThrow(/provider/);
  });

  it('while gating, only requests with the switch token reach the new server', () => {
    const c = switchConfig({ name: 'a', router, serve: 'http://10.0.0.2:9000', probe: { token: TOKEN, server: 'http://10.0.0.3:9000' } }) as { http: { routers: Record<string, { rule: string; priority: number; service: string }> } };
    expect(c.http.routers['spawner-switch-a__probe']).toMatchObject({
      rule: `(${router.rule}) && Header(\`X-Spawner-Switch\`, \`${TOKEN}\`)`, priority: switchPriority(router.rule) + 1, service: 'spawner-switch-a__probe',
    });
  });

  it('refuses what could inject into the file or a rule', () => {
    expect(() => switchConfig({ name: 'A"b', router, serve: 'http://10.0.0.2:9000' })).toThrow(/name/);
    expect(() => switchConfig({ name: 'a', router, serve: 'http://evil.example:80' })).toThrow(/server/);
    expect(() => switchConfig({ name: 'a', router, serve: 'http://10.0.0.2:9000', probe: { token: 'x`) || PathPrefix(`/', server: 'http://10.0.0.3:9000' } })).toThrow(/token/);
  });
});

describe('switch files on disk', () => {
  let dir = '';
  afterEach(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('are written whole under the final name (no temporary file left), listed, and removed', async () => {
    dir = mkdtempSync(join(tmpdir(), 'switch-'));
    await writeSwitch(dir, { name: 'a-1', router, serve: 'http://10.0.0.2:9000' });
    expect(readdirSync(dir)).toEqual(['spawner-switch-a-1.yml']);
    expect(JSON.parse(readFileSync(join(dir, 'spawner-switch-a-1.yml'), 'utf8'))).toHaveProperty('http.routers');
    expect(await leftoverSwitches(dir)).toEqual(['a-1']);
    await removeSwitch(dir, 'a-1');
    expect(await leftoverSwitches(dir)).toEqual([]);
  });
});

describe('reading an instance route back from its labels', () => {
  const spec = {
    name: 'minion-1', port: 9000, public: false, cookieName: 'instance', appsDomain: 'apps.localhost', pathPrefix: 'app',
    entrypoint: 'web', network: 'n', spawnerId: 's', recoverService: 'spawner-wake@docker', userLabels: {}, traefikLabels: {},
  } as const;
  for (const routing of ['cookie', 'host', 'path'] as const) {
    it(`${routing} mode: the rule, entrypoints, middlewares and routing value the labels were made from`, () => {
      const value = 'minion-1.AbC_d-ef0123456789';
      const labels = instanceLabels({ ...spec, routing, routeValue: value });
      const r = instanceRouterOf(labels, 'minion-1');
      expect(r?.entrypoints).toEqual(['web']);
      expect(r?.middlewares[0]).toBe('spawner-i-minion-1__recover');
      expect(routeValueOf(r?.rule ?? '', 'minion-1', 'instance')).toBe(value);
      // The same value makes the same labels: the new container routes exactly like the old one.
      expect(instanceLabels({ ...spec, routing, routeValue: routeValueOf(r?.rule ?? '', 'minion-1', 'instance') ?? '' })).toEqual(labels);
    });
  }

  it('a public host instance has no cookie: its value is its name; another instance\'s value is refused', () => {
    const labels = instanceLabels({ ...spec, routing: 'host', public: true, routeValue: 'minion-1' });
    expect(routeValueOf(instanceRouterOf(labels, 'minion-1')?.rule ?? '', 'minion-1', 'instance')).toBe('minion-1');
    const other = instanceLabels({ ...spec, name: 'minion-10', routing: 'cookie', routeValue: 'minion-10.secretsecret' });
    expect(routeValueOf(instanceRouterOf(other, 'minion-10')?.rule ?? '', 'minion-1', 'instance')).toBeNull();
    expect(instanceRouterOf({}, 'minion-1')).toBeNull();
  });
});
