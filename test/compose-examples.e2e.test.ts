/**
 * The compose stack as a user runs it (scripts/compose.sh with compose/docker-compose.yml) and the
 * cookie-routing example scripts as child processes against it: create, test, list, wait for the
 * minions' own idle shutdown, test again (woken, same container), delete. Then scripts/demo.sh
 * --no-setup and --down, pointed at this stack, so a developer's demo on the same engine (project
 * spawner-demo, ports 8080/8008, examples/.state/) is never touched.
 *
 * Parameterised by runtime: with E2E_RUNTIME=swarm (CI's one-node swarm part) the same file runs
 * the stack with compose/swarm.yml, where every minion is a Swarm service.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  instanceId, instanceState, instancesLeft, ROOT, run, RUNTIME, startComposeStack, waitForFallThrough, waitForStatus, stepTimer, type ComposeStack,
} from './helpers/compose.js';

const EXAMPLE = join(ROOT, 'examples/cookie-routing');
const docker = new Docker();
const { timed, lines: timings } = stepTimer(34);

describe(`compose stack + examples/cookie-routing (runtime ${RUNTIME})`, () => {
  let stack: ComposeStack;
  const prefix = `cx${randomBytes(3).toString('hex')}`;
  const names = [`${prefix}-1`, `${prefix}-2`];
  let stateFile = '';

  beforeAll(async () => {
    stack = await timed('compose up + routes live', () => startComposeStack());
    stateFile = join(stack.dir, 'cookie-routing.tsv');
  }, 120_000);

  afterAll(async () => {
    await timed('teardown', () => stack?.teardown() ?? Promise.resolve());
    console.log(`[compose-examples] timings:\n  ${timings.join('\n  ')}`);
  }, 120_000);

  const example = (script: string) =>
    run('bash', [join(EXAMPLE, script)], {
      ...stack.env,
      SPAWNER_USER: stack.user.username,
      SPAWNER_PASSWORD: stack.user.password,
      COUNT: '2',
      IDLE: '4s',
      PREFIX: prefix,
      STATE_FILE: stateFile,
    }, 120_000);
  const expectOk = (r: Awaited<ReturnType<typeof run>>) =>
    expect(r.code, `exit code; stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(0);

  it('creates, tests, lists, sleeps, wakes and deletes the minions', async () => {
    const created = await timed('create-minions.sh (2)', () => example('create-minions.sh'));
    expectOk(created);
    const ids = new Map<string, string>();
    for (const name of names) {
      const id = await instanceId(stack, name);
      ids.set(name, id);
      expect(created.stdout).toMatch(new RegExp(`^created ${name}  id=${id.slice(0, 12)} status=\\w+ routing=cookie url=${stack.web}/$`, 'm'));
    }

    const tested = await timed('test-minions.sh (awake)', () => example('test-minions.sh'));
    expectOk(tested);
    for (const name of names) {
      expect(tested.stdout).toMatch(new RegExp(`^${name} ok hostname=${name} connstr=postgres://db\\.example/${name} `, 'm'));
    }
    expect(tested.stdout).toContain(`all 2 minions answered via ${stack.web}`);

    const listed = await timed('list-minions.sh', () => example('list-minions.sh'));
    expectOk(listed);
    expect(listed.stdout).toMatch(/^NAME\s+STATUS\s+HEALTH\s+ROUTING\s+ID$/m);
    for (const name of names) {
      expect(listed.stdout).toMatch(new RegExp(`^${name}\\s+running\\s+\\S+\\s+cookie\\s+${ids.get(name)!.slice(0, 12)}$`, 'm'));
    }

    // mock-app exits by itself after IDLE=4s without requests; the spawner sees the exit.
    await timed('idle shutdown (IDLE=4s) seen by API', () => waitForStatus(stack, names, 'exited', 30_000));
    for (const name of names) expect(await instanceState(stack, name)).toEqual({ running: false, exitCode: 0 });
    // The cookies the example saved (name, id, cookie name, value); Traefik must have dropped
    // the exited minions' routes, or curl would meet a 502/504 from a dead address.
    const cookies = readFileSync(stateFile, 'utf8').trim().split('\n').map((l) => l.split('\t')).map(([, , n, v]) => `${n}=${v}`);
    expect(cookies).toHaveLength(2);
    await timed('routes dropped by Traefik', () => Promise.all(cookies.map((c) => waitForFallThrough(stack, c))));

    const woken = await timed('test-minions.sh (woken)', () => example('test-minions.sh'));
    expectOk(woken);
    for (const name of names) {
      // Same instance (on Swarm: the same service, with a new task), reached through the wake
      // listener's 307.
      expect(woken.stdout).toMatch(new RegExp(
        `^${name} ok hostname=${name} connstr=\\S+ time=[\\d.]+s \\(via the wake listener: [1-9]\\d* redirect\\(s\\)\\)$`, 'm'));
      expect(await instanceId(stack, name)).toBe(ids.get(name));
      // The lifecycle log tells the story: the app's own exit, then the wake.
      const { body } = await stack.call('GET', `/deploy/${name}/events`);
      const kinds = (body.events as { kind: string }[]).map((e) => e.kind);
      console.log(name, kinds.join(' '));
      expect(kinds).toContain('wake');
    }

    // The spawner's own paths reach it on every host, above the minions' routers (compose's
    // `spawner-own` router): where each minion router's errors middleware sends Traefik's 502/504.
    const own = await fetch(`${stack.web}/.spawner/healthz`, { headers: { cookie: cookies[0]! } });
    expect(own.headers.get('x-spawner-wake')).toBe('1');
    expect(await own.json()).toEqual({ status: 'ok' });

    const deleted = await timed('delete-minions.sh', () => example('delete-minions.sh'));
    expectOk(deleted);
    for (const name of names) expect(deleted.stdout).toMatch(new RegExp(`^deleted ${name}$`, 'm'));
    const after = await stack.call('GET', '/deploy');
    expect(after).toEqual({ status: 200, body: { instances: [] } });
    expect(await instancesLeft(stack)).toEqual([]);
    expect(existsSync(stateFile)).toBe(false);
  });

  it('scripts/demo.sh --no-setup and --down work on this stack without touching the default demo', async () => {
    // What a developer's demo keeps in the tree: must be exactly as before afterwards.
    const devFiles = ['compose/users.txt', 'compose/secrets/service-token', 'examples/.state/cookie-routing.tsv'].map((f) => join(ROOT, f));
    const snapshot = () => devFiles.map((f) => (existsSync(f) ? `${statSync(f).mtimeMs}:${readFileSync(f, 'utf8')}` : 'absent'));
    const before = snapshot();
    const env = { ...stack.env, COUNT: '1', PREFIX: `${prefix}d`, STATE_FILE: join(stack.dir, 'demo.tsv') };

    const demo = await timed('demo.sh --no-setup (stack up)', () => run('bash', [join(ROOT, 'scripts/demo.sh'), '--no-setup'], env, 120_000));
    expectOk(demo);
    const id = await instanceId(stack, `${prefix}d-1`);
    expect(demo.stdout).toMatch(new RegExp(`^created ${prefix}d-1  id=${id.slice(0, 12)} `, 'm'));
    expect(demo.stdout).toMatch(new RegExp(`^${prefix}d-1 ok hostname=${prefix}d-1 `, 'm'));
    expect(demo.stderr).toContain(`users file ${stack.env.SPAWNER_USERS_FILE} exists: kept`);
    expect(demo.stderr).toMatch(/\[demo\] ready in [\d.]+s/);
    expect(demo.stderr).toContain(`Home app (sign up, get an instance):  ${stack.web}/home`);

    const down = await timed('demo.sh --down', () => run('bash', [join(ROOT, 'scripts/demo.sh'), '--down'], env, 120_000));
    expectOk(down);
    expect(down.stderr).toContain(`deleted instance ${prefix}d-1`);
    expect(await docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${stack.project}`] } })).toEqual([]);
    expect(await docker.listContainers({ all: true, filters: { label: [`spawner.id=${stack.spawnerId}`] } })).toEqual([]);
    expect(await instancesLeft(stack)).toEqual([]);
    expect((await docker.listNetworks({ filters: { name: [stack.network] } })).filter((n) => n.Name === stack.network)).toEqual([]);
    expect(existsSync(join(stack.dir, 'demo.tsv'))).toBe(false);
    expect(snapshot()).toEqual(before);
  });
});
