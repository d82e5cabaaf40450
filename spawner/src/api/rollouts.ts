/** /rollouts on the deploy API: create, list, show, pause, resume, abort (rollouts/runner.ts). */
import type { Express, Request, RequestHandler, Response } from 'express';
import type { Config } from '../config.js';
import { SpawnerError } from '../errors.js';
import type { RolloutRunner } from '../rollouts/runner.js';
import type { RolloutStore } from '../store/rollouts.js';
import { counts } from '../rollouts/plan.js';
import type { RolloutRecord } from '../rollouts/types.js';
import { validateRollout } from '../rollouts/validate.js';
import { wrap } from './handler.js';

export interface RolloutApiDeps {
  cfg: Config;
  runner: RolloutRunner;
  store: RolloutStore;
  /** The authenticated caller (recorded as who started the rollout). */
  subject: (req: Request, res: Response) => string;
}

function id(req: Request): number {
  const raw = String(req.params.id ?? '');
  if (!/^[1-9][0-9]{0,15}$/.test(raw)) throw new SpawnerError('invalid_field', 'a rollout id is a positive integer', 'id');
  return Number(raw);
}

export function rolloutView(r: RolloutRecord) {
  const iso = (t: number) => new Date(t).toISOString();
  return {
    id: r.id, status: r.status, reason: r.reason, ...r.spec,
    createdBy: r.createdBy, createdAt: iso(r.createdAt), updatedAt: iso(r.updatedAt),
    counts: counts(r.items), instances: r.items,
  };
}

/** Routes on the app itself (not a sub-router), so the OpenAPI check in app.test.ts sees them. */
export function mountRollouts(app: Express, d: RolloutApiDeps, authorized: RequestHandler): void {
  app.post('/rollouts', authorized, wrap((req, res) => {
    const spec = validateRollout(req.body, d.cfg);
    res.status(202).json(rolloutView(d.runner.create(spec, d.subject(req, res))));
  }));
  app.get('/rollouts', authorized, wrap((_req, res) => {
    res.json({ rollouts: d.store.list().map((x) => { const { instances: _i, ...rest } = rolloutView(x); return rest; }) });
  }));
  app.get('/rollouts/:id', authorized, wrap((req, res) => { res.json(rolloutView(d.runner.get(id(req)))); }));
  app.post('/rollouts/:id/pause', authorized, wrap((req, res) => { res.json(rolloutView(d.runner.pause(id(req)))); }));
  app.post('/rollouts/:id/resume', authorized, wrap((req, res) => { res.json(rolloutView(d.runner.resume(id(req)))); }));
  app.post('/rollouts/:id/abort', authorized, wrap((req, res) => { res.json(rolloutView(d.runner.abort(id(req)))); }));
}
