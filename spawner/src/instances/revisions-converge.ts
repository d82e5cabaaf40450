/**
 * Start-up convergence of redeploys a crash (kill -9, power) interrupted. It runs AFTER the first
 * rescan, which already removed every container of an instance that is not the row's: the new
 * container of an uncommitted switch, or the old one of a committed switch. So:
 * - a pending revision never committed: marked failed at step `interrupted` (its container, if
 *   the rescan could not remove it, is removed here);
 * - a switch file left behind: removed once Traefik's Docker service of the instance holds only
 *   the row's container (bounded), so routing falls back to the instance's own labels.
 * Result: exactly one container per instance and a true revision record.
 */
import { errorMessage } from '../log.js';
import { instanceAddress, instanceUrl } from '../readiness/address.js';
import { leftoverSwitches } from '../traefik/switch-file.js';
import { instanceRouterOf } from '../traefik/label-read.js';
import type { InstanceDeps } from './deps.js';
import type { InstanceService } from './service.js';
import { SwitchRoute } from './switch-route.js';

const SETTLE_MS = 10_000;

export async function convergeRevisions(d: InstanceDeps, service: InstanceService): Promise<void> {
  const revisions = d.revisions;
  if (!revisions) return;
  for (const row of revisions.store.pending()) {
    await service.locks.run(row.instance, async () => {
      const rec = d.instances.get(row.instance);
      if (row.containerId && row.containerId !== rec?.containerId) await d.runtime.remove(row.containerId).catch(() => undefined);
      revisions.store.fail(row.instance, row.n, 'interrupted', 'the spawner stopped during the redeploy; the previous revision kept serving');
      d.events.append({ instance: row.instance, kind: 'redeploy_failed', reason: 'interrupted', detail: { revision: row.n } }, d.now());
      d.log.warn('redeploy interrupted by a restart', { instance: row.instance, revision: row.n });
    });
  }
  const dir = d.cfg.traefikDynamicDir;
  if (!dir || !d.traefik) return;
  for (const name of await leftoverSwitches(dir)) {
    const traefik = d.traefik;
    await service.locks.run(name, async () => {
      const rec = d.instances.get(name);
      const info = rec?.containerId ? await service.owned(rec.containerId).catch(() => null) : null;
      const ip = info && rec ? instanceAddress(d.cfg, info, rec) : undefined;
      const router = info ? instanceRouterOf(info.labels, name) : null;
      const servers = ip && rec ? [instanceUrl(ip, rec.port, '')] : [];
      // No route of its own to compare with (gone, stopped): the file just goes.
      await new SwitchRoute(traefik, dir, name, router ?? { rule: '', entrypoints: [], middlewares: [] }).release(servers, AbortSignal.timeout(SETTLE_MS));
      d.log.info('switch route left by a restart removed', { instance: name });
    }).catch((err) => d.log.warn('switch route cleanup failed', { instance: name, error: errorMessage(err) }));
  }
}
