/**
 * Durability of the spawner on real Docker: state survives SIGTERM and SIGKILL restarts (instances,
 * login tokens, lifecycle events); the start-up rescan cleans what a crash leaves (an owned
 * container without a row) while never touching a foreign container, even one that looks like
 * ours; and a deploy cut short by `kill -9` at various moments ends consistent after restart.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { docker, inspectOrNull, RUN_LABEL, spawnerLogs, startStack, type Stack } from './helpers/stack.js';
import { IMAGES } from './helpers/docker-env.js';
import { expectProblem, jsonRequest } from './helpers/http.js';
import { pollUntil } from './helpers/poll.js';
import { querySpawnerDb } from './helpers/spawner-db.js';
import { waitListening } from './helpers/mock-app.js';

let stack: Stack;
let token: string;
const call = (method: string, path: string, body?: unknown, tok = token) => jsonRequest(stack.api, tok, method, path, body);

beforeAll(async () => {
  // A short periodic rescan, so the live-cleanup case below does not wait 30 s.
  stack = await startStack({ env: { SPAWNER_RESCAN_SEC: '2' } });
  token = (await jsonRequest(stack.api, '', 'POST', '/login', stack.user)).json.token as string;
});

afterAll(async () => {
  if (stack) {
    if (process.env.E2E_DEBUG) console.log(await spawnerLogs(stack));
    await stack.teardown();
  }
});

const inspect = inspectOrNull;

/** Instance containers of this run's spawner, optionally of one instance. */
async function ownedContainers(instance?: string) {
  const label = [`spawner.id=${stack.spawnerId}`, 'origin=spawner'];
  if (instance) label.push(`spawner.instance=${instance}`);
  return docker.listContainers({ all: true, filters: { label } });
}

const kinds = async (name: string) => ((await call('GET', `/deploy/${name}/events`)).json.events as Array<{ kind: string }>).map((e) => e.kind);

/** Labels of `from`'s container rewritten for another instance name (keys and values). */
function relabel(labels: Record<string, string>, from: string, to: string): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).map(([k, v]) => [k.split(from).join(to), v.split(from).join(to)]));
}

async function createByHand(name: string, labels: Record<string, string>, start: boolean): Promise<Docker.Container> {
  const c = await docker.createContainer({
    name, Image: IMAGES.mockApp, Labels: labels, Env: ['IDLE=0'],
    HostConfig: { NetworkMode: stack.network }, StopTimeout: 1,
  });
  if (start) await c.start();
  return c;
}

describe('restarts keep state', () => {
  it('instances, the old login token and lifecycle events survive SIGTERM and SIGKILL', async () => {
    const a = await call('POST', '/deploy', { name: 'dur-a', network: stack.network, image: IMAGES.mockApp, labels: { team: 'a' }, envs: { IDLE: '0' } });
    expect(a.status, a.text).toBe(200);
    const b = await call('POST', '/deploy', { name: 'dur-b', image: IMAGES.mockApp, envs: { IDLE: '0' } });
    expect(b.status, b.text).toBe(200);
    await waitListening(b.json.id as string);
    expect((await call('POST', '/deploy/dur-b/stop')).json.status).toBe('exited');
    const eventsA = (await call('GET', '/deploy/dur-a/events')).json.events;
    const eventsB = (await call('GET', '/deploy/dur-b/events')).json.events;
    expect(eventsA.map((e: { kind: string }) => e.kind)).toEqual(['deployed']);
    expect(eventsB.map((e: { kind: string }) => e.kind)).toEqual(['deployed', 'stopped']);

    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      const t0 = Date.now();
      await stack.restartSpawner(signal);
      console.log(`restart with ${signal}: ${Date.now() - t0} ms until /healthz`);
      // The token issued before the restart still works (tokens live in SQLite).
      const list = await call('GET', '/deploy');
      expect(list.status, `${signal}: ${list.text}`).toBe(200);
      const rows = Object.fromEntries((list.json.instances as Array<Record<string, any>>).map((r) => [r.name, r]));
      expect(Object.keys(rows).sort()).toEqual(['dur-a', 'dur-b']);
      expect(rows['dur-a']).toMatchObject({ id: a.json.id, status: 'running', labels: { team: 'a' } });
      expect(rows['dur-b']).toMatchObject({ id: b.json.id, status: 'exited' });
      // History is append-only and complete: what was there before is still there, unchanged.
      expect((await call('GET', '/deploy/dur-a/events')).json.events.slice(0, eventsA.length)).toEqual(eventsA);
      expect((await call('GET', '/deploy/dur-b/events')).json.events.slice(0, eventsB.length)).toEqual(eventsB);
      // The instance containers were not touched by the restart.
      expect((await inspect(a.json.id))?.State.Status).toBe('running');
      expect((await inspect(b.json.id))?.State.Status).toBe('exited');
      expect((await jsonRequest(stack.api, stack.serviceToken, 'GET', '/deploy')).status).toBe(200);
    }
    // Restarts are not lifecycle events of the instances: nothing was "external".
    expect(await kinds('dur-a')).toEqual(['deployed']);
    expect(await kinds('dur-b')).toEqual(['deployed', 'stopped']);

    // And the service keeps working: start the stopped one, stop it again.
    expect((await call('PUT', '/deploy/dur-b')).json.status).toBe('running');
    await waitListening(b.json.id as string);
    expect((await call('POST', '/deploy/dur-b/stop')).json.status).toBe('exited');
    expect(await kinds('dur-b')).toEqual(['deployed', 'stopped', 'started', 'stopped']);
    expect((await jsonRequest(stack.api, '', 'POST', '/login', stack.user)).status).toBe(200);
  });
});

describe('crash reconciliation', () => {
  it('cleans an owned container without a row and never touches a foreign one', async () => {
    const real = await inspect(`${stack.runId}-dur-a`);
    expect(real).not.toBeNull();
    const labels = real!.Config.Labels;
    expect(labels['spawner.instance']).toBe('dur-a');

    // Foreign: origin=spawner and our name pattern, but another installation's spawner.id. One of
    // them even claims to be dur-a. RUN_LABEL only so that teardown removes them.
    const otherId = createHash('sha256').update(`other-${stack.runId}`).digest('hex').slice(0, 32);
    const foreignLabels = (instance: string) => ({ ...relabel(labels, 'dur-a', instance), 'spawner.id': otherId, [RUN_LABEL]: stack.runId });
    const foreign = await createByHand(`${stack.runId}-foreign`, foreignLabels('foreign'), true);
    const twin = await createByHand(`${stack.runId}-dur-a-twin`, { ...foreignLabels('dur-a-twin'), 'spawner.instance': 'dur-a' }, false);
    const foreignStarted = (await foreign.inspect()).State.StartedAt;

    // The API refuses to see or touch them, by name or by id: 404, and they stay as they were.
    for (const ref of ['foreign', foreign.id, foreign.id.slice(0, 12), twin.id]) {
      const attempts: Array<[string, string]> = [
        ['DELETE', `/deploy/${ref}`], ['PUT', `/deploy/${ref}`], ['POST', `/deploy/${ref}/stop`], ['GET', `/deploy/${ref}`], ['GET', `/deploy/${ref}/events`],
      ];
      for (const [method, path] of attempts) {
        expectProblem(await call(method, path), 404, 'not_found', 'nameOrId');
      }
    }
    // Deploying over the foreign container's name is a conflict that leaves no row and keeps it.
    expectProblem(await call('POST', '/deploy', { name: 'foreign', image: IMAGES.mockApp }), 409, 'conflict', 'name');
    expectProblem(await call('GET', '/deploy/foreign'), 404, 'not_found');
    expect((await foreign.inspect()).State).toMatchObject({ Status: 'running', StartedAt: foreignStarted });

    // A crash between `docker create` and the row: the container exists with exactly the labels
    // and name the spawner would use, but no row. Left behind while the spawner is down.
    const ghosts: Docker.Container[] = [];
    await stack.restartSpawner('SIGKILL', {
      whileStopped: async () => {
        ghosts.push(await createByHand(`${stack.runId}-ghost-1`, relabel(labels, 'dur-a', 'ghost-1'), false));
        ghosts.push(await createByHand(`${stack.runId}-ghost-2`, relabel(labels, 'dur-a', 'ghost-2'), true));
      },
    });
    // The start-up rescan runs before the API listens, so they are gone by /healthz.
    for (const g of ghosts) expect(await inspect(g.id)).toBeNull();
    expectProblem(await call('GET', '/deploy/ghost-1'), 404, 'not_found');
    // Each repair is logged exactly once (the API hides events of row-less names; read the file).
    const cleaned = await querySpawnerDb<{ instance: string; kind: string; reason: string }>(stack,
      "SELECT instance, kind, reason FROM events WHERE instance LIKE 'ghost-%' ORDER BY id");
    expect(cleaned.map((e) => [e.instance, e.kind, e.reason]).sort()).toEqual([
      ['ghost-1', 'cleaned', 'container without row'], ['ghost-2', 'cleaned', 'container without row'],
    ]);

    // While running, the periodic rescan does the same (SPAWNER_RESCAN_SEC=2).
    const live = await createByHand(`${stack.runId}-ghost-3`, relabel(labels, 'dur-a', 'ghost-3'), true);
    await pollUntil('periodic rescan removes ghost-3', async () => ((await inspect(live.id)) === null ? true : undefined), { timeoutMs: 15_000 });

    // Foreign containers: untouched through all of it (same state, never restarted).
    expect((await foreign.inspect()).State).toMatchObject({ Status: 'running', StartedAt: foreignStarted });
    expect((await twin.inspect()).State.Status).toBe('created');
    // Our instances as before; the twin claiming dur-a did not replace dur-a's container.
    const list = (await call('GET', '/deploy')).json.instances as Array<Record<string, any>>;
    expect(list.map((r) => r.name).sort()).toEqual(['dur-a', 'dur-b']);
    expect(list.find((r) => r.name === 'dur-a')!.id).toBe(real!.Id);
    expect((await ownedContainers()).map((c) => c.Labels['spawner.instance']).sort()).toEqual(['dur-a', 'dur-b']);
    for (const ref of ['foreign', foreign.id]) expectProblem(await call('DELETE', `/deploy/${ref}`), 404, 'not_found');
    expect((await foreign.inspect()).State.Status).toBe('running');
  });
});

describe('kill -9 during a deploy', () => {
  /** arm() resolves once the trigger is ready; `fired` resolves after the spawner was killed. */
  type Trigger = { label: string; arm: (name: string) => Promise<{ fired: Promise<void> }> };
  const afterMs = (ms: number): Trigger => ({
    label: `${ms} ms after the request`,
    arm: async () => ({
      fired: (async () => {
        // The race is the point here: the delay is the experiment's parameter, not a wait for a state.
        await new Promise((r) => setTimeout(r, ms));
        await stack.spawner.kill({ signal: 'SIGKILL' });
      })(),
    }),
  });
  const onDockerEvent = (event: string): Trigger => ({
    label: `on Docker's ${event} event`,
    arm: async (name) => {
      // getEvents resolves once the engine has the subscription: nothing can slip by after that.
      const stream = (await docker.getEvents({ filters: { type: ['container'], event: [event], label: [`spawner.instance=${name}`] } })) as unknown as NodeJS.ReadableStream & { destroy(): void };
      return {
        fired: (async () => {
          await new Promise<void>((resolve) => stream.once('data', () => resolve()));
          await stack.spawner.kill({ signal: 'SIGKILL' });
          stream.destroy();
        })(),
      };
    },
  });

  it('ends with either the instance and its container, or neither', async () => {
    const triggers = [afterMs(0), afterMs(3), afterMs(8), afterMs(15), afterMs(30), onDockerEvent('create'), onDockerEvent('start')];
    const outcomes: string[] = [];
    const names = async () => ((await call('GET', '/deploy')).json.instances as Array<{ name: string }>).map((r) => r.name).sort();
    const before = await names();
    for (const [i, trig] of triggers.entries()) {
      const name = `race-${i}`;
      const { fired } = await trig.arm(name);
      const req = call('POST', '/deploy', { name, image: IMAGES.mockApp, envs: { IDLE: '0' } }).then((r) => String(r.status), (e: Error) => e.message);
      const t0 = Date.now();
      const [answer] = await Promise.all([req, fired]);
      const t1 = Date.now();
      await stack.startSpawner();
      const t2 = Date.now();

      const row = await call('GET', `/deploy/${name}`);
      const containers = await ownedContainers(name);
      if (row.status === 200) {
        expect(containers, `${trig.label}: row but no container`).toHaveLength(1);
        expect(row.json.id).toBe(containers[0]!.Id);
        expect(['created', 'running', 'exited']).toContain(row.json.status);
        expect(row.json.status).toBe((await inspect(containers[0]!.Id))?.State.Status);
        // A half-deployed (adopted) instance is fully usable: start it, then remove it.
        const events = await kinds(name);
        // A repaired deploy says so in its history; a finished one says deployed; never anything else.
        expect(events.every((k) => k === 'adopted' || k === 'deployed'), events.join(',')).toBe(true);
        // Never started: either adopted by the rescan (killed before the id was recorded) or
        // killed between recording the id and the start (no event yet; as consistent).
        if (row.json.status === 'created') expect(events.filter((k) => k !== 'adopted')).toEqual([]);
        expect((await call('PUT', `/deploy/${name}`)).json.status).toBe('running');
        expect((await call('DELETE', `/deploy/${name}`)).status).toBe(200);
        outcomes.push(`${trig.label}: answer=${answer} → instance kept (${row.json.status}, events ${events.join(',')})`);
      } else {
        expectProblem(row, 404, 'not_found');
        expect(containers, `${trig.label}: orphan container`).toEqual([]);
        outcomes.push(`${trig.label}: answer=${answer} → neither`);
      }
      expect(await ownedContainers(name)).toEqual([]);
      outcomes[outcomes.length - 1] += ` (kill ${t1 - t0} ms, restart ${t2 - t1} ms, checks ${Date.now() - t2} ms)`;
      // No other row appeared or vanished.
      expect(await names()).toEqual(before);
    }
    console.log(`kill -9 outcomes:\n  ${outcomes.join('\n  ')}`);
  });
});
