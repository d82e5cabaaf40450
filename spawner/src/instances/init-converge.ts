/**
 * Start-up convergence of init: a run that was under way when the spawner died (kill -9, power)
 * has no outcome. Its instance is marked failed ("interrupted") and its container, which may be
 * running an app that was never (or half) initialized, is stopped: nothing uninitialized stays
 * routed. The next wake (or POST /deploy/:name/init) runs init again with the same
 * Idempotency-Key, so an app that did finish the first request can answer the same again.
 */
import { errorMessage } from '../log.js';
import type { InitStore } from '../store/init.js';
import type { InstanceDeps } from './deps.js';
import type { InstanceService } from './service.js';

export async function convergeInit(d: InstanceDeps, store: InitStore, service: InstanceService): Promise<string[]> {
  const names = store.unfinished();
  for (const name of names) {
    store.markFailed(name, 'interrupted: the spawner stopped during init', d.now());
    d.events.append({ instance: name, kind: 'init_failed', reason: 'interrupted' }, d.now());
    const rec = d.instances.get(name);
    if (!rec) continue;
    try {
      await service.stop(name, 'failed_init');
    } catch (err) {
      d.log.warn('init: could not stop an interrupted instance', { instance: name, error: errorMessage(err) });
    }
  }
  if (names.length) d.log.warn('init interrupted by a restart; instances stopped until their next wake', { instances: names });
  return names;
}
