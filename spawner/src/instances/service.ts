/**
 * The instances domain: deploy, list, start, stop, remove. Order of a deploy is chosen for crash
 * safety: row first (it holds the only copy of the secret's hash), then the container under a
 * deterministic name, then the id. Any failure undoes what was done, so a rejected deploy leaves
 * no container and no row; a crash in between is repaired by reconcile.ts.
 */
import { SpawnerError } from '../errors.js';
import { errorMessage } from '../log.js';
import { instanceLabels, ownershipLabels, traefikProvider } from '../traefik/labels.js';
import type { ContainerInfo } from '../runtime/types.js';
import { containerName, engine, initState, limitsOf, toView, viewOf, volumeState, type InstanceDeps, type InstanceView } from './deps.js';
import { DrainableLock } from './lock.js';
import { InstanceNetworks } from './networks.js';
import { InstanceVolumes, type VolumePlan } from './volumes.js';
import { ContainerStates } from './states.js';
import { waitRouteGone } from '../readiness/gate.js';
import { hashSecret, newSecret, routeValue } from './routing.js';
import type { DeploySpec, InstanceRecord, StopReason } from './types.js';
import type { Initializer } from './init.js';
import { identityEnv, newIdentity } from './identity.js';
import { revisionSpecOf } from './revisions.js';
import { Expectations, type OwnCall } from './expectations.js';

export interface DeployResult {
  view: InstanceView;
  cookie: { name: string; value: string };
}

/** An instance's unit id, or 12+ characters of it: a container's hex, or a Swarm service's base-36. */
const UNIT_ID = /^[a-z0-9]{12,64}$/;
/** Traefik drops a stopped container's router within its provider throttle; bound the wait. */
const ROUTE_GONE_MS = 5_000;

export class InstanceService {
  readonly locks = new DrainableLock();
  /** Last known engine state per container id (events + rescans): what `list()` answers from. */
  readonly states = new ContainerStates();
  /** Container ids whose next start/stop event we caused (so reconcile does not call it external). */
  readonly expected = new Expectations();
  readonly networks: InstanceNetworks;
  readonly volumes: InstanceVolumes;
  private closing = false;

  constructor(private readonly d: InstanceDeps) {
    this.networks = new InstanceNetworks(d);
    this.volumes = new InstanceVolumes(d, this.locks);
  }

  /**
   * Runs an engine call whose start/stop/destroy event we cause, so reconcile does not record it
   * as external. A failed call emits no event: forget the expectation, or it would hide the next
   * real external change of that container.
   */
  async ours<T>(id: string, call: OwnCall, op: () => Promise<T>): Promise<T> {
    this.expected.add(id, call);
    try {
      return await op();
    } catch (err) {
      this.expected.forget(id);
      throw err;
    }
  }

  close(): void {
    this.closing = true;
  }

  /** Resolves when no instance work (deploy, start, stop, remove, wake, idle stop) runs or waits. */
  idle(): Promise<void> {
    return this.locks.idle();
  }

  private guard(): void {
    if (this.closing) throw new SpawnerError('shutting_down', 'the spawner is shutting down', undefined, 5);
  }

  /** Name or (prefix of a) container id → record. Unknown → not_found. */
  resolve(nameOrId: string): InstanceRecord {
    const byName = this.d.instances.get(nameOrId);
    if (byName) return byName;
    if (UNIT_ID.test(nameOrId)) {
      const rec = this.d.instances.list().find((r) => r.containerId?.startsWith(nameOrId));
      if (rec) return rec;
    }
    throw new SpawnerError('not_found', `no instance named ${nameOrId}`, 'nameOrId');
  }

  /** `by`: the authenticated caller, recorded in the instance's first revision. */
  async deploy(spec: DeploySpec, by = 'unknown'): Promise<DeployResult> {
    this.guard();
    return this.locks.run(spec.name, async () => {
      if (this.d.instances.get(spec.name)) {
        throw new SpawnerError('conflict', `instance ${spec.name} already exists`, 'name');
      }
      // Before any engine call: an init deploy without a key would create what cannot be initialized.
      if (spec.init && !this.d.init?.enabled) {
        throw new SpawnerError('init_unavailable', 'instance initialization needs SPAWNER_INIT_KEY or SPAWNER_INIT_KEY_FILE on the spawner', 'init');
      }
      if (!(await this.d.runtime.networkExists(spec.network))) {
        throw new SpawnerError('network_not_allowed', `network ${spec.network} does not exist`, 'network');
      }
      await this.ensureImage(spec.image);
      const volume = await this.volumes.plan(spec); // refuses a foreign or unasked-for retained volume
      const secret = this.d.cfg.bareNameCookies || spec.public ? null : newSecret();
      const value = routeValue(spec.name, secret);
      const rec = this.newRecord(spec, secret);
      const labels = this.labelsFor(spec, value);
      this.d.instances.insert(rec);
      if (spec.init && this.d.init) this.d.init.insert(this.d.init.record(spec.name, spec.init));
      // The identity credential exists only in the container's env and, hashed, in the store.
      const identity = newIdentity();
      this.d.identities?.set(spec.name, identity.hash, this.d.now());
      const env = this.d.identities ? { ...spec.env, ...identityEnv(identity.token, this.d.cfg) } : spec.env;
      const id = await this.createAndStart({ ...spec, env }, labels, volume);
      this.d.events.append({ instance: spec.name, kind: 'deployed', detail: { image: spec.image } }, this.d.now());
      this.d.metrics.deploys.inc({ result: 'ok' });
      const info = await this.states.observe(() => this.d.runtime.inspect(id));
      this.d.revisions?.deployed(spec.name, revisionSpecOf(spec), by, this.d.now(), id, info?.imageId ?? null);
      return {
        view: toView({ ...rec, containerId: id, revision: this.d.revisions ? 1 : null }, info?.state ?? 'unknown', info?.health ?? 'none', initState(this.d.init, spec.name), volumeState(this.d.volumes, spec.name)),
        cookie: { name: this.d.cfg.cookieName, value },
      };
    });
  }

  private newRecord(spec: DeploySpec, secret: string | null): InstanceRecord {
    return {
      name: spec.name, containerId: null, image: spec.image, network: spec.network, port: spec.port,
      routing: spec.routing, public: spec.public, secretHash: secret ? hashSecret(secret) : null,
      healthCheck: spec.healthCheck ?? null, idleTimeoutSec: spec.idleTimeoutSec ?? null,
      labels: spec.labels, createdAt: this.d.now(), lastWakeAt: null, lastActivityAt: null,
    };
  }

  labelsFor(spec: DeploySpec, value: string): Record<string, string> {
    const c = this.d.cfg;
    return instanceLabels({
      name: spec.name, port: spec.port, routing: spec.routing, public: spec.public, routeValue: value,
      cookieName: c.cookieName, appsDomain: c.appsDomain, pathPrefix: c.pathPrefix,
      entrypoint: c.entrypoint, network: this.networks.nameFor(spec.name), provider: traefikProvider(c.runtime), egress: spec.egress, spawnerId: this.d.spawnerId, recoverService: c.recoverService,
      healthCheck: spec.healthCheck, userLabels: spec.labels, traefikLabels: spec.traefikLabels,
    });
  }

  /**
   * Network (edges connected) + create + start; on any failure remove the container, the network
   * and the row (nothing half-created). A network named in the request other than the control
   * network is an operator-allowed extra, joined in addition to the instance's own.
   */
  private async createAndStart(spec: DeploySpec, labels: Record<string, string>, volume: VolumePlan | null): Promise<string> {
    let id: string | undefined;
    try {
      const own = await this.networks.create(spec.name, spec.egress);
      const networks = spec.network === this.d.cfg.network ? [own] : [own, spec.network];
      const mounts = await this.volumes.attach(spec.name, volume);
      id = await this.d.runtime.create({
        name: containerName(this.d.cfg, spec.name), hostname: spec.name, image: spec.image, networks, mounts,
        labels, env: spec.env, stopTimeoutSec: this.d.cfg.stopTimeoutSec,
        limits: limitsOf(spec.limits),
      });
      this.d.instances.setContainerId(spec.name, id);
      const created = id;
      await this.ours(created, 'start', () => this.d.runtime.start(created));
      return id;
    } catch (err) {
      if (id) await this.d.runtime.remove(id).catch(() => undefined);
      await this.volumes.undo(spec.name, volume); // only a volume this deploy created
      await this.networks.remove(spec.name).catch(() => undefined);
      this.d.instances.delete(spec.name);
      this.d.metrics.deploys.inc({ result: 'error' });
      const status = (err as { statusCode?: number }).statusCode;
      if (status === 409) {
        throw new SpawnerError('conflict', `a container named ${containerName(this.d.cfg, spec.name)} already exists`, 'name');
      }
      this.d.log.error('deploy failed', { instance: spec.name, error: errorMessage(err) });
      throw err instanceof SpawnerError ? err : new SpawnerError('runtime_unavailable', 'the container could not be created or started');
    }
  }

  async ensureImage(image: string): Promise<void> {
    if (await this.d.runtime.imageExists(image)) return;
    this.d.log.info('pulling image', { image });
    try {
      await this.d.runtime.pullImage(image, {
        timeoutMs: this.d.cfg.pullTimeoutSec * 1000,
        onProgress: (line) => this.d.log.debug('pull progress', { image, line }),
      });
    } catch (err) {
      this.d.log.warn('image pull failed', { image, error: errorMessage(err) });
      throw new SpawnerError('image_unavailable', `image ${image} is not present and could not be pulled`, 'image');
    }
  }

  /** For /metrics: instances by last known container state (`gone`: removed outside). */
  instancesByState(): [Record<string, string>, number][] {
    const counts = new Map<string, number>();
    for (const rec of this.d.instances.list()) {
      const st = rec.containerId ? (this.states.get(rec.containerId)?.state ?? (this.states.ready ? 'gone' : 'unknown')) : 'creating';
      counts.set(st, (counts.get(st) ?? 0) + 1);
    }
    return [...counts].map(([state, n]) => [{ state }, n]);
  }

  /** From the event-fed state cache once a rescan has primed it; from the engine before that. */
  async list(): Promise<InstanceView[]> {
    if (!this.states.ready) {
      this.states.replaceAll(await engine(this.d.runtime.list(ownershipLabels(this.d.spawnerId))));
    }
    return this.d.instances.list().map((rec) => viewOf(rec, rec.containerId ? this.states.get(rec.containerId) : undefined, this.d.init, this.d.volumes));
  }

  async get(nameOrId: string): Promise<InstanceView> {
    const rec = this.resolve(nameOrId);
    const id = rec.containerId;
    const info = id ? await this.states.observe(() => this.owned(id)) : null;
    return viewOf(rec, info ?? undefined, this.d.init, this.d.volumes);
  }

  /** Inspect, but only containers that carry this spawner's labels are ours to see or touch. */
  async owned(id: string): Promise<ContainerInfo | null> {
    const info = await engine(this.d.runtime.inspect(id));
    const own = ownershipLabels(this.d.spawnerId);
    return info && Object.entries(own).every(([k, v]) => info.labels[k] === v) ? info : null;
  }

  async start(nameOrId: string): Promise<InstanceView> {
    this.guard();
    const { name } = this.resolve(nameOrId);
    return this.locks.run(name, async () => {
      const rec = this.resolve(name); // again under the lock: a redeploy may have replaced the container
      const info = await this.requireContainer(rec);
      if (info.state !== 'running') {
        await this.ours(info.id, 'start', () => this.d.runtime.start(info.id));
        this.d.events.append({ instance: rec.name, kind: 'started', reason: 'api' }, this.d.now());
      }
      return this.get(rec.name);
    });
  }

  async stop(nameOrId: string, reason: StopReason = 'api'): Promise<InstanceView> {
    const { name } = this.resolve(nameOrId);
    return this.locks.run(name, async () => {
      await this.stopLocked(this.resolve(name), reason);
      return this.get(name);
    });
  }

  /** Caller holds the instance lock. */
  async stopLocked(rec: InstanceRecord, reason: StopReason): Promise<void> {
    const info = await this.requireContainer(rec);
    if (info.state !== 'running' && info.state !== 'restarting') return;
    await this.ours(info.id, 'stop', () => this.d.runtime.stop(info.id, this.d.cfg.stopTimeoutSec));
    this.d.events.append({ instance: rec.name, kind: 'stopped', reason }, this.d.now());
    this.d.metrics.stops.inc({ reason });
    if (this.d.traefik && !(await waitRouteGone(this.d.traefik, rec.name, AbortSignal.timeout(ROUTE_GONE_MS)))) {
      this.d.log.warn('traefik still routes to a stopped instance', { instance: rec.name });
    }
  }

  /**
   * Row first, then the container, then the network: a crash after any step leaves only things
   * without a row, which the next rescan removes (an owned container or network whose instance
   * has no row). The other order would leave a row of a removed container behind (`gone`). The
   * volume comes last and stays (retained) unless `purge`: data is never removed by a rescan.
   */
  async remove(nameOrId: string, purge = false): ReturnType<InstanceVolumes['release']> {
    const { name } = this.resolve(nameOrId);
    return this.locks.run(name, async () => {
      const rec = this.resolve(name); // again under the lock: a redeploy may have replaced the container
      const info = rec.containerId ? await this.owned(rec.containerId) : null;
      const volume = this.volumes.of(rec.name); // the row goes with the instance's (cascade)
      this.d.instances.delete(rec.name);
      this.d.events.append({ instance: rec.name, kind: 'removed', reason: 'deleted' }, this.d.now());
      if (info) {
        await this.ours(info.id, 'remove', () => this.d.runtime.remove(info.id));
        this.d.metrics.stops.inc({ reason: 'deleted' });
      }
      await this.networks.remove(rec.name).catch((err) => this.d.log.warn('instance network not removed; the next rescan retries', { instance: rec.name, error: errorMessage(err) }));
      return this.volumes.release(rec.name, volume, purge);
    });
  }

  /** False when there was no live credential (already revoked, or deployed before identities). */
  revokeIdentity(name: string): boolean {
    const done = this.d.identities?.revoke(name, this.d.now()) ?? false;
    if (done) this.d.events.append({ instance: name, kind: 'identity_revoked' }, this.d.now());
    return done;
  }

  async requireContainer(rec: InstanceRecord): Promise<ContainerInfo> {
    const info = rec.containerId ? await this.owned(rec.containerId) : null;
    if (!info) {
      throw new SpawnerError('not_found', `the container of instance ${rec.name} is gone (removed outside the spawner); delete and redeploy it`, 'nameOrId');
    }
    return info;
  }
}
