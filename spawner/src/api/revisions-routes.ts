/**
 * Revisions of an instance on the deploy API: history, redeploy (a new revision) and rollback (a
 * new revision with an earlier one's configuration). The caller who asks is recorded with the
 * revision (`createdBy`).
 */
import { Router, type Request, type Response } from 'express';
import type { Config } from '../config.js';
import type { Redeployer } from '../instances/redeploy.js';
import { rollback } from '../instances/rollback.js';
import type { InstanceService } from '../instances/service.js';
import { SpawnerError } from '../errors.js';
import { validateName } from './fields.js';
import { validateRedeploy, validateRollback } from './redeploy-body.js';
import { wrap } from './handler.js';

export interface RevisionRouteDeps {
  cfg: Config;
  service: InstanceService;
  redeployer: Redeployer;
  isClosing: () => boolean;
}

/** Who asks: what the `authorized` middleware put in res.locals. */
export const callerOf = (res: Response): string => (res.locals.principal as { subject?: string } | undefined)?.subject ?? 'unknown';

export function revisionsRouter(d: RevisionRouteDeps): Router {
  const r = Router({ mergeParams: true });
  const name = (req: Request) => d.service.resolve(validateName(req.params.nameOrId, 'nameOrId')).name;
  const open = () => {
    if (d.isClosing()) throw new SpawnerError('shutting_down', 'the spawner is shutting down', undefined, 5);
  };
  r.get('/:nameOrId/revisions', wrap((req, res) => {
    const n = name(req);
    const revisions = d.redeployer.revisions();
    res.json({ name: n, revisions: revisions.store.list(n).map((row) => revisions.view(row)) });
  }));
  r.post('/:nameOrId/revisions', wrap(async (req, res) => {
    open();
    const n = name(req);
    const { changes, strategy } = validateRedeploy(req.body, d.cfg, n);
    const out = await d.redeployer.redeploy(n, changes, callerOf(res), strategy);
    res.json({ ...out, instance: await d.service.get(n) });
  }));
  r.post('/:nameOrId/rollback', wrap(async (req, res) => {
    open();
    const n = name(req);
    const { revision, strategy } = validateRollback(req.body);
    const out = await rollback(d.redeployer, n, revision, callerOf(res), strategy);
    res.json({ ...out, instance: await d.service.get(n) });
  }));
  return r;
}
