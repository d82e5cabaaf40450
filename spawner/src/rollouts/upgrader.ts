/**
 * The rollout runner's Upgrader over the instances domain: a rollout step is exactly a redeploy
 * (start-first, the instance's own strategy when it has one) or a rollback, through the same gate
 * and switch as a single call to the API.
 */
import type { InstanceService } from '../instances/service.js';
import type { Redeployer } from '../instances/redeploy.js';
import { rollback } from '../instances/rollback.js';
import type { InstanceStore } from '../store/instances.js';
import type { RolloutTarget, Upgrader } from './types.js';

export function instanceUpgrader(instances: InstanceStore, service: InstanceService, redeployer: Redeployer): Upgrader {
  const revisions = () => redeployer.revisions();
  return {
    candidates: () => instances.list().map((r) => ({ name: r.name, image: r.image })),
    exists: (name) => instances.get(name) !== undefined,
    currentRevision: (name) => revisions().store.active(name)?.n ?? null,
    ensureImage: (image) => service.ensureImage(image),
    async upgrade(name: string, target: RolloutTarget, by: string) {
      // A sleeping instance is moved, not woken (the redeploy of a stopped instance creates its
      // new container without starting it): that is what "deferred" reports.
      const running = (await service.get(name)).status === 'running';
      const active = revisions().store.active(name);
      // The target's env keys are set on top of each instance's own env (per-user values stay).
      const env = target.env && active ? { ...revisions().specOf(active).env, ...target.env } : target.env;
      const out = await redeployer.redeploy(name, { ...(target.image ? { image: target.image } : {}), ...(env ? { env } : {}) }, by);
      return { revision: out.revision.revision, deferred: !running };
    },
    async rollback(name: string, revision: number, by: string) {
      await rollback(redeployer, name, revision, by);
    },
  };
}
