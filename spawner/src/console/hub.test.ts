import { afterEach, describe, expect, it, vi } from 'vitest';
import { InstanceService } from '../instances/service.js';
import { validateDeploy } from '../api/validate.js';
import { memoryDeps } from '../testing/fixtures.js';
import { ConsoleHub, type HubDeps } from './hub.js';
import type { ConsoleRow } from './web/types.js';

const hubs: ConsoleHub[] = [];
afterEach(() => { for (const h of hubs.splice(0)) h.stop(); });

function setup(over: Partial<HubDeps> = {}) {
  const deps = memoryDeps({ cfg: { idleTimeoutSec: 60 } });
  const service = new InstanceService(deps);
  let starts = 0;
  const hub = new ConsoleHub({ ...deps, service, startsInFlight: () => starts, debounceMs: 1, tickMs: 60_000, ...over });
  hubs.push(hub);
  const deploy = (name: string) => service.deploy(validateDeploy({ name, image: 'mock-app:latest' }, deps.cfg, { defaultNetwork: deps.cfg.network }));
  const wake = (name: string, total: number) => deps.events.append({ instance: name, kind: 'wake', detail: { started: true, start: 10, health: 20, route: 30, probe: 5, total } }, deps.now());
  return { deps, service, hub, deploy, wake, setStarts: (n: number) => { starts = n; } };
}

function recorder() {
  const got: { event: string; data: any }[] = [];
  return {
    got, send: (event: string, data: unknown) => { got.push({ event, data }); },
    until: async (pred: (e: { event: string; data: any }) => boolean) => {
      for (let i = 0; i < 200; i++) {
        const hit = got.find(pred);
        if (hit) return hit;
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error(`no such push; got ${JSON.stringify(got.map((g) => g.event))}`);
    },
  };
}

describe('ConsoleHub', () => {
  it('sends a snapshot first, then only the rows that changed', async () => {
    const { hub, service, deploy } = setup();
    await deploy('a');
    await deploy('b');
    hub.start();
    const r = recorder();
    await hub.subscribe(r.send);
    expect(r.got[0]).toMatchObject({ event: 'snapshot', data: { rows: [{ name: 'a', state: 'running' }, { name: 'b', state: 'running' }] } });
    await service.stop('b');
    const push = await r.until((e) => e.event === 'rows');
    expect(push.data.changed.map((x: ConsoleRow) => [x.name, x.state])).toEqual([['b', 'exited']]);
    await service.remove('a');
    expect((await r.until((e) => e.event === 'rows' && e.data.removed.length > 0)).data.removed).toEqual(['a']);
  });

  it('counts wakes per instance (also those logged before it started) and pushes percentiles', async () => {
    const { hub, deploy, wake } = setup();
    await deploy('a');
    wake('a', 100);
    hub.start();
    const r = recorder();
    await hub.subscribe(r.send);
    expect(r.got[0]!.data.rows[0]).toMatchObject({ wakes: 1, lastWakeMs: 100 });
    wake('a', 300);
    const rows = await r.until((e) => e.event === 'rows');
    expect(rows.data.changed[0]).toMatchObject({ name: 'a', wakes: 2, lastWakeMs: 300 });
    const fleet = await r.until((e) => e.event === 'fleet' && e.data.wakePercentiles.total.n === 2);
    expect(fleet.data.wakePercentiles.total).toEqual({ p50: 100, p90: 300, p99: 300, n: 2 });
    expect(fleet.data.wakePercentiles.health.p50).toBe(20);
    const detail = await hub.detail('a');
    expect(detail?.wakes.map((w) => w.total)).toEqual([100, 300]);
    expect(await hub.detail('nope')).toBeNull();
  });

  it('pushes the fleet view when starts in flight change, against maxConcurrentStarts', async () => {
    const { hub, deploy, setStarts } = setup();
    await deploy('a');
    hub.start();
    const r = recorder();
    await hub.subscribe(r.send);
    setStarts(3);
    hub.notify();
    expect((await r.until((e) => e.event === 'fleet' && e.data.startsInFlight === 3)).data.maxConcurrentStarts).toBe(8);
  });

  it('does no work for Docker or lifecycle events while no page is open', async () => {
    const { hub, service, deploy } = setup();
    await deploy('a');
    hub.start();
    await hub.snapshot();
    const list = vi.spyOn(service, 'list');
    await service.stop('a');
    hub.notify();
    await new Promise((r) => setTimeout(r, 30));
    expect(list).not.toHaveBeenCalled();
  });

  it('says goodbye to every page on stop (shutdown must not wait for open streams)', async () => {
    const { hub } = setup();
    hub.start();
    const r = recorder();
    await hub.subscribe(r.send);
    hub.stop();
    expect(r.got.at(-1)?.event).toBe('bye');
    expect(hub.clientCount).toBe(0);
  });

  it('gives the idle stop time of running instances with a timeout, none for stopped ones', async () => {
    const { hub, service, deploy } = setup();
    await deploy('a');
    await deploy('b');
    await service.stop('b');
    const rows = await hub.snapshot();
    expect(rows[0]!.idleTimeoutSec).toBe(60);
    expect(rows[0]!.idleDueAt).toBeGreaterThan(Date.now() + 55_000);
    expect(rows[1]!.idleDueAt).toBeNull();
  });

  it('samples requests per instance from the deltas of Traefik\'s counters while a page is open', async () => {
    let n = 5;
    const traefik = { metrics: async () => `traefik_service_requests_total{code="200",method="GET",protocol="http",service="spawner-i-a@docker"} ${n}\n` };
    const { hub, deploy } = setup({ traefik, tickMs: 20 });
    await deploy('a');
    await hub.subscribe(() => undefined);
    hub.start();
    await new Promise((r) => setTimeout(r, 50));
    n = 12;
    for (let i = 0; i < 100 && !(await hub.detail('a'))?.requests.some(([, v]) => v === 7); i++) await new Promise((r) => setTimeout(r, 10));
    expect((await hub.detail('a'))?.requests.map(([, v]) => v)).toContain(7);
  });
});
