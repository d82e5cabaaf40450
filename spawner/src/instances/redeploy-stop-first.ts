/**
 * Stop-first redeploy (`"strategy": "stop-first"`): for apps that must never run twice at once
 * (e.g. two writers on one volume). The old container stops first; requests meanwhile fall through
 * to the wake listener, whose wake waits on the instance lock this redeploy holds and then serves
 * the new revision (or the old one again, if the new one failed). No switch file is needed: only
 * one container of the instance ever runs.
 */
import { errorMessage } from '../log.js';
import { waitRouteGone } from '../readiness/gate.js';
import type { ContainerInfo } from '../runtime/types.js';
import type { Candidate, Redeployer } from './redeploy.js';

const ROUTE_GONE_MS = 5_000;

export async function stopFirst(r: Redeployer, c: Candidate, old: ContainerInfo): Promise<void> {
  const { d, service } = r;
  await service.ours(old.id, 'stop', () => d.runtime.stop(old.id, d.cfg.drainDeadlineSec));
  if (d.traefik) await waitRouteGone(d.traefik, c.rec.name, AbortSignal.timeout(ROUTE_GONE_MS));
  let step = 'create';
  let id: string | undefined;
  try {
    id = await r.create(c);
    step = 'start';
    await d.runtime.start(id);
    step = 'gate';
    await r.gateNew(c, id, AbortSignal.timeout(d.cfg.wakeDeadlineSec * 1000));
  } catch (err) {
    const failure = await r.fail(c, id, step, err);
    // The old revision serves again: the same container, started as a wake would.
    await service.ours(old.id, 'start', () => d.runtime.start(old.id)).catch((e) => d.log.warn('old container did not start again', { instance: c.rec.name, error: errorMessage(e) }));
    throw failure;
  }
  await r.commit(c, id);
  await d.runtime.remove(old.id).catch((err) => d.log.warn('old container not removed; the next rescan removes it', { instance: c.rec.name, error: errorMessage(err) }));
}
