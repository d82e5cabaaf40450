/**
 * Revisions of an instance: what each deploy and redeploy ran, sealed where it may hold tenant
 * secrets. The stored spec is the whole DeploySpec except name, env and init, so whatever a
 * deploy carries (a volume, limits, labels) flows into every later revision unchanged.
 */
import { open, seal } from '../secrets/seal.js';
import { SpawnerError } from '../errors.js';
import type { RevisionRow, RevisionStatus, RevisionStore } from '../store/revisions.js';
import type { DeploySpec } from './types.js';

/** What a revision ran: a DeploySpec without the instance's fixed name and its init. */
export type RevisionSpec = Omit<DeploySpec, 'name' | 'env' | 'init'> & { env: Record<string, string> };

export interface RevisionView {
  revision: number;
  status: RevisionStatus;
  image: string;
  imageId: string | null;
  /** Names only: values may be tenant secrets and never leave the spawner. */
  envKeys: string[];
  port: number;
  labels: Record<string, string>;
  limits: DeploySpec['limits'];
  healthCheck: string | null;
  idleTimeout: number | null;
  volume?: unknown;
  createdBy: string;
  createdAt: string;
  failedStep: string | null;
  reason: string | null;
  containerId: string | null;
}

const aad = (instance: string, n: number) => `${instance}\u0000revision:${n}\u0000env`;

export class Revisions {
  constructor(readonly store: RevisionStore, private readonly key: Buffer | null, readonly keep: number) {}

  /** Inserts revision n (pending unless given) of `name` running `spec`. */
  record(name: string, n: number, spec: RevisionSpec, by: string, at: number, status: RevisionStatus = 'pending', containerId: string | null = null): void {
    const { env, ...rest } = spec;
    const text = JSON.stringify(env);
    const sealed = this.key ? seal(this.key, text, aad(name, n)) : Buffer.from(text, 'utf8');
    this.store.insert({
      instance: name, n, image: spec.image, imageId: null, spec: JSON.stringify(rest), env: sealed,
      envSealed: this.key !== null, createdBy: by, createdAt: at, status, containerId,
    });
  }

  /** The first revision, active at once: a deploy created and started its container. */
  deployed(name: string, spec: RevisionSpec, by: string, at: number, containerId: string, imageId: string | null): void {
    this.store.transaction(() => {
      this.record(name, 1, spec, by, at, 'active', containerId);
      this.store.activate(name, 1, containerId, imageId, this.keep);
    });
  }

  /** The full spec of revision n, env opened. */
  specOf(row: RevisionRow): RevisionSpec {
    let env: Record<string, string>;
    if (!row.envSealed) env = JSON.parse(row.env.toString('utf8')) as Record<string, string>;
    else if (!this.key) throw new SpawnerError('init_unavailable', `revision ${row.n} of ${row.instance} is sealed: the spawner needs the key it was sealed with (SPAWNER_INIT_KEY)`);
    else env = JSON.parse(open(this.key, row.env, aad(row.instance, row.n))) as Record<string, string>;
    return { ...(JSON.parse(row.spec) as Omit<RevisionSpec, 'env'>), env };
  }

  get(name: string, n: number): RevisionRow {
    const row = this.store.get(name, n);
    if (!row) throw new SpawnerError('not_found', `instance ${name} has no revision ${n}`, 'revision');
    return row;
  }

  view(row: RevisionRow): RevisionView {
    const spec = JSON.parse(row.spec) as Omit<RevisionSpec, 'env'>;
    const envKeys = row.envSealed && !this.key ? [] : Object.keys(this.specOf(row).env).sort();
    return {
      revision: row.n, status: row.status, image: row.image, imageId: row.imageId, envKeys,
      port: spec.port, labels: spec.labels, limits: spec.limits, healthCheck: spec.healthCheck ?? null,
      idleTimeout: spec.idleTimeoutSec ?? null,
      ...((spec as { volume?: unknown }).volume !== undefined ? { volume: (spec as { volume?: unknown }).volume } : {}),
      createdBy: row.createdBy, createdAt: new Date(row.createdAt).toISOString(),
      failedStep: row.failedStep, reason: row.reason, containerId: row.containerId,
    };
  }
}

export function revisionSpecOf(spec: DeploySpec): RevisionSpec {
  const { name: _name, init: _init, ...rest } = spec;
  return rest;
}
