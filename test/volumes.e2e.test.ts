/**
 * Instance data on real Docker + Traefik: a file the app's user writes into the managed volume
 * survives stop/start and an idle stop (same container, same volume); DELETE keeps it (retained,
 * listed), a redeploy of the name gets it back only when it asks, purge removes it; no other
 * instance ever has it mounted; hostile requests are refused and leave nothing behind; volumes
 * removed or left behind outside the spawner are flagged and reported, never deleted. Crashes
 * mid deploy: volumes-crash.e2e.test.ts. Parameterised by runtime (helpers/runtime-view.ts): on
 * Swarm the unit is a service whose every stop deletes its task's container, so there the data
 * outlives the container itself.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, docker, instanceNetwork, type Stack } from './helpers/stack.js';
import { containerOf, mountsOf, outside, startRuntimeStack, teardownRuntimeStack, unitsOf } from './helpers/runtime-view.js';
import { deploy, eventsOf, followToApp, fromApp, waitLogLine, waitReachable, type Instance } from './helpers/lifecycle.js';
import { readDataNote, writeDataNote } from './helpers/exec.js';
import { IMAGES } from './helpers/docker-env.js';
import { pollUntil } from './helpers/poll.js';
import { instanceVolume, volumeOrNull } from './helpers/volumes.js';

let stack: Stack;
let token: string;
beforeAll(async () => {
  ({ stack, token } = await startRuntimeStack({
    env: { SPAWNER_IDLE_CHECK_SEC: '1', SPAWNER_RESCAN_SEC: '2', SPAWNER_VOLUME_DEFAULTS: `${IMAGES.mockApp}=/data` },
    traefikArgs: ['--serversTransport.maxIdleConnsPerHost=-1'],
  }));
});
afterAll(async () => teardownRuntimeStack(stack, 'volumes'), 180_000);

const volumeName = (name: string) => instanceVolume(stack, name);
/** The container that runs the instance now (on Swarm: its running task's). */
const runningOf = async (inst: Instance) => docker.getContainer(await containerOf(stack, inst.name));
/** No unit of the instance is left (its container, or its service). */
const noUnit = async (name: string) => expect(await unitsOf(stack, name)).toEqual([]);

/** As the app's own (non-root) user, the way the app itself would write its data. */
async function writeNote(inst: Instance, text: string): Promise<void> {
  const r = await writeDataNote(await runningOf(inst), text);
  expect(r, r.stderr).toMatchObject({ code: 0 });
}
const readNote = async (inst: Instance) => readDataNote(await runningOf(inst));

async function listed(name: string) {
  const r = await api(stack, token, 'GET', '/volumes');
  expect(r.status).toBe(200);
  return (r.body.volumes as { instance: string; name: string; status: string; path: string | null; createdAt: string | null }[]).find((v) => v.instance === name);
}

describe('the data of an instance', () => {
  const note = `note-${randomBytes(6).toString('hex')}`;
  let a: Instance;

  it('is a volume named after the instance, labelled as ours, the only mount of its container', async () => {
    a = await deploy(stack, token, 'a', { volume: { path: '/data' } });
    await waitReachable(stack, a);
    expect(await mountsOf(a.id)).toEqual([{ type: 'volume', name: volumeName('a'), target: '/data', rw: true }]);
    expect((await volumeOrNull(volumeName('a')))?.Labels).toEqual({ origin: 'spawner', 'spawner.id': stack.spawnerId, 'spawner.instance': 'a' });
    const view = await api(stack, token, 'GET', '/deploy/a');
    expect(view.body.volume).toEqual({ path: '/data', name: volumeName('a'), status: 'attached' });
    expect(await listed('a')).toMatchObject({ name: volumeName('a'), status: 'attached', path: '/data' });
    await writeNote(a, note);
  });

  it('survives stop and start (same unit, same volume)', async () => {
    expect((await api(stack, token, 'POST', '/deploy/a/stop')).status).toBe(200);
    const started = await api(stack, token, 'POST', '/deploy/a/start');
    expect(started.body.id).toBe(a.id);
    expect(await readNote(a)).toBe(note);
  });

  it('a second instance (volume from the operator default) never has it mounted', async () => {
    const b = await deploy(stack, token, 'b');
    expect(await mountsOf(b.id)).toEqual([{ type: 'volume', name: volumeName('b'), target: '/data', rw: true }]);
    expect(await readNote(b)).toBeNull();
    // A retained-volume removal is refused while its instance exists.
    const busy = await api(stack, token, 'DELETE', '/volumes/b');
    expect(busy.status).toBe(409);
    expect(busy.body.code).toBe('conflict');
    expect(await volumeOrNull(volumeName('b'))).not.toBeNull();
  });

  it('DELETE keeps it: retained, listed by GET /volumes', async () => {
    const del = await api(stack, token, 'DELETE', '/deploy/a');
    expect(del.body).toMatchObject({ status: 'removed', volume: { name: volumeName('a'), status: 'retained' } });
    await noUnit('a');
    expect(await volumeOrNull(volumeName('a'))).not.toBeNull();
    expect(await listed('a')).toEqual({ instance: 'a', name: volumeName('a'), status: 'retained', path: null, createdAt: expect.any(String) });
  });

  it('a redeploy of the name without the opt-in is refused and makes nothing', async () => {
    const r = await api(stack, token, 'POST', '/deploy', { name: 'a', image: IMAGES.mockApp, volume: { path: '/data' } });
    expect(r.status).toBe(409);
    expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(r.body).toMatchObject({ code: 'volume_retained', field: 'volume.reuse' });
    expect(r.body.detail).toMatch(/"reuse": true/);
    await noUnit('a');
    expect((await api(stack, token, 'GET', '/deploy/a')).status).toBe(404);
    expect(await docker.listNetworks({ filters: { name: [instanceNetwork(stack, 'a')] } })).toEqual([]);
  });

  it('with the opt-in, the new instance sees the file', async () => {
    a = await deploy(stack, token, 'a', { volume: { reuse: true } }); // path: the operator default
    await waitReachable(stack, a);
    expect(await readNote(a)).toBe(note);
    expect((await eventsOf(stack, token, 'a')).map((e) => e.kind)).toContain('volume_reattached');
  });

  it('DELETE ?purge=true removes it', async () => {
    const del = await api(stack, token, 'DELETE', '/deploy/a?purge=true');
    expect(del.body).toMatchObject({ status: 'removed', volume: { name: volumeName('a'), status: 'removed' } });
    expect(await volumeOrNull(volumeName('a'))).toBeNull();
    expect(await listed('a')).toBeUndefined();
  });

  it('DELETE /volumes/:name removes a retained volume', async () => {
    await api(stack, token, 'DELETE', '/deploy/b');
    expect(await volumeOrNull(volumeName('b'))).not.toBeNull();
    const r = await api(stack, token, 'DELETE', '/volumes/b');
    expect(r.status).toBe(200);
    expect(await volumeOrNull(volumeName('b'))).toBeNull();
    expect((await api(stack, token, 'DELETE', '/volumes/b')).status).toBe(404);
  });
});

describe('idle stop', () => {
  it('the data survives an idle stop and the wake after it (same unit)', async () => {
    const inst = await deploy(stack, token, 'sleepy', { idleTimeout: 4 });
    await waitReachable(stack, inst);
    await writeNote(inst, 'kept while asleep');
    const since = Date.now();
    await pollUntil('an idle stop', async () => ((await eventsOf(stack, token, 'sleepy')).some((e) => e.kind === 'stopped' && e.reason === 'idle' && e.at >= since) ? true : undefined), { timeoutMs: 60_000, intervalMs: 200 });
    const { final } = await followToApp(stack, inst);
    expect(fromApp(final, inst)).toBe(true);
    expect((await unitsOf(stack, 'sleepy')).map((u) => u.id)).toEqual([inst.id]);
    expect(await readNote(inst)).toBe('kept while asleep');
  });
});

describe('hostile input', () => {
  const attempts: [string, Record<string, unknown>, string][] = [
    ['bind syntax', { volume: { path: '/var/run/docker.sock:/data' } }, 'volume.path'],
    ['a host path to mount', { volume: { path: '/', reuse: true } }, 'volume.path'],
    ['..', { volume: { path: '/data/../../etc' } }, 'volume.path'],
    ['/proc', { volume: { path: '/proc/sys' } }, 'volume.path'],
    ['a huge path', { volume: { path: `/${'x'.repeat(20_000)}` } }, 'volume.path'],
    ['another volume by name', { volume: { path: '/data', name: 'spawner-b-data' } }, 'volume.name'],
    ['a bind source', { volume: { path: '/data', source: '/' } }, 'volume.source'],
    ['Docker volumes', { volumes: ['spawner-b-data:/data'] }, 'volumes'],
    ['Docker mounts', { mounts: [{ Type: 'bind', Source: '/', Target: '/host' }] }, 'mounts'],
    ['Docker binds', { binds: ['/:/host'] }, 'binds'],
  ];

  it.each(attempts)('refuses %s with problem+json, and leaves nothing behind', async (_why, extra, field) => {
    const r = await api(stack, token, 'POST', '/deploy', { name: 'h', image: IMAGES.mockApp, ...extra });
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(r.body).toMatchObject({ code: 'invalid_field', field });
    expect(JSON.stringify(r.body).length).toBeLessThan(1_000);
    await noUnit('h');
    expect(await volumeOrNull(volumeName('h'))).toBeNull();
    expect(await docker.listNetworks({ filters: { name: [instanceNetwork(stack, 'h')] } })).toEqual([]);
    expect((await api(stack, token, 'GET', '/deploy/h')).status).toBe(404);
  });

  it('a body too large for any path is refused before validation', async () => {
    const r = await api(stack, token, 'POST', '/deploy', { name: 'h', image: IMAGES.mockApp, volume: { path: `/${'x'.repeat(100_000)}` } });
    expect(r.status).toBe(413);
    expect(await volumeOrNull(volumeName('h'))).toBeNull();
  });

  it('a volume of that name made by someone else is never mounted nor touched', async () => {
    const foreign = volumeName('f');
    await docker.createVolume({ Name: foreign, Labels: { 'spawner-test.run': stack.runId, owner: 'someone-else' } });
    for (const volume of [{ path: '/data' }, { path: '/data', reuse: true }]) {
      const r = await api(stack, token, 'POST', '/deploy', { name: 'f', image: IMAGES.mockApp, volume });
      expect(r.status).toBe(409);
      expect(r.body).toMatchObject({ code: 'conflict', field: 'volume' });
    }
    await noUnit('f');
    expect((await volumeOrNull(foreign))?.Labels).toEqual({ 'spawner-test.run': stack.runId, owner: 'someone-else' });
    expect((await api(stack, token, 'DELETE', '/volumes/f')).status).toBe(404);
    expect(await listed('f')).toBeUndefined();
  });
});

describe('reconciliation', () => {
  it('an owned volume without an instance is reported and listed as retained, never deleted', async () => {
    const since = Date.now();
    await docker.createVolume({ Name: volumeName('o'), Labels: { origin: 'spawner', 'spawner.id': stack.spawnerId, 'spawner.instance': 'o' } });
    await waitLogLine(stack, since, 'retained volume, mounted by no instance', { volume: volumeName('o') }, { timeoutMs: 30_000 });
    expect(await listed('o')).toMatchObject({ status: 'retained' });
    expect(await volumeOrNull(volumeName('o'))).not.toBeNull();
  });

  it('an instance whose volume was removed outside is flagged: an event, and its view says missing', async () => {
    const m = await deploy(stack, token, 'm');
    await outside.remove(m.id);
    // On Swarm the task's container goes a moment after its service: the volume is in use till then.
    await pollUntil('volume removed outside', async () => { await docker.getVolume(volumeName('m')).remove(); return true; }, { timeoutMs: 30_000, intervalMs: 200 });
    const view = await pollUntil('volume flagged missing', async () => {
      const r = await api(stack, token, 'GET', '/deploy/m');
      return r.body.volume?.status === 'missing' ? r.body : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    expect(view.volume).toEqual({ path: '/data', name: volumeName('m'), status: 'missing' });
    expect((await eventsOf(stack, token, 'm')).filter((e) => e.kind === 'volume_missing')).toHaveLength(1);
    expect(await listed('m')).toMatchObject({ status: 'missing' });
  });
});

describe('the CLI and the API edges', () => {
  const CLI = fileURLToPath(new URL('../spawner/dist/cli.js', import.meta.url));
  const cli = async (...args: string[]) => {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, ...args, '--api', stack.api, '--token', token, '--json'], { timeout: 120_000 });
    return JSON.parse(stdout) as Record<string, any>;
  };

  it('deploy --volume, rm (retained), volumes, deploy --reuse-volume, rm --purge, volume-rm', async () => {
    expect((await cli('deploy', 'clip', '--image', IMAGES.mockApp, '--volume', '/state')).volume).toEqual({ path: '/state', name: volumeName('clip'), status: 'attached' });
    expect((await cli('rm', 'clip')).volume).toEqual({ name: volumeName('clip'), status: 'retained' });
    expect((await cli('volumes')).volumes).toContainEqual(expect.objectContaining({ instance: 'clip', status: 'retained' }));
    expect((await cli('deploy', 'clip', '--image', IMAGES.mockApp, '--reuse-volume')).volume).toMatchObject({ path: '/data', status: 'attached' });
    expect((await cli('rm', 'clip', '--purge')).volume).toEqual({ name: volumeName('clip'), status: 'removed' });
    await cli('deploy', 'clip', '--image', IMAGES.mockApp);
    await cli('rm', 'clip');
    expect(await cli('volume-rm', 'clip')).toEqual({ instance: 'clip', status: 'removed' });
    expect(await volumeOrNull(volumeName('clip'))).toBeNull();
  });

  it('the volume routes need a token and a valid instance name', async () => {
    expect((await fetch(`${stack.api}/volumes`)).status).toBe(401);
    expect((await fetch(`${stack.api}/volumes/b`, { method: 'DELETE' })).status).toBe(401);
    for (const bad of ['..%2F..%2Fetc', 'UPPER', `${'a'.repeat(64)}`, '%00']) {
      const r = await api(stack, token, 'DELETE', `/volumes/${bad}`);
      expect(r.status, bad).toBe(400);
      expect(r.body).toMatchObject({ code: 'invalid_field', field: 'name' });
    }
  });
});
