/**
 * Redeploys: a new revision of an instance in a new container, under the instance lock (wakes,
 * idle stops and deletes wait; nothing half-switches). Start-first for a running instance:
 *   (a) a switch route (file provider) pins every request of the instance to the OLD container;
 *   (b) the new container starts under `<container>.r<n>` with the same route labels;
 *   (c) it passes the full gate (app up, Traefik sees it, one request through Traefik reaches it
 *       via a token-only probe router);
 *   (d) the switch route moves to it; then ONE transaction commits (row, revision, identity);
 *   (e) the old container drains (stop timeout = drain deadline) and is removed;
 *   (f) once Traefik's service of the instance holds only the new container, the file goes.
 * A failure before (d) removes the new container and keeps the old one serving; the revision is
 * `failed` with its step. A stopped instance gets the new container created, not started.
 * The same steps on the swarm runtime: a "container" is a service there (the runtime names it
 * `<container>_r<n>`), both revisions' services carry the same route labels, so Traefik's swarm
 * provider merges their running tasks into one service exactly as the docker provider does.
 */
import { randomBytes } from 'node:crypto';
import { SpawnerError } from '../errors.js';
import { globMatch } from '../api/glob.js';
import { imageForMatching } from '../api/image.js';
import { errorMessage } from '../log.js';
import { waitReady, type GateDeps } from '../readiness/gate.js';
import { instanceAddress, instanceUrl } from '../readiness/address.js';
import { throughProxyRequest } from '../readiness/through-proxy.js';
import { LABEL } from '../traefik/labels.js';
import { instanceRouterOf, routeValueOf } from '../traefik/label-read.js';
import { SWITCH_HEADER } from '../traefik/switch-file.js';
import type { ContainerInfo } from '../runtime/types.js';
import { containerName, limitsOf, type InstanceDeps } from './deps.js';
import { identityEnv, newIdentity } from './identity.js';
import type { RevisionSpec, RevisionView } from './revisions.js';
import type { InstanceService } from './service.js';
import { SwitchRoute } from './switch-route.js';
import type { InstanceRecord } from './types.js';
import { stopFirst } from './redeploy-stop-first.js';

export type Strategy = 'start-first' | 'stop-first';

/** The operator's per-image default (a glob list, like the image allowlist). */
export function defaultStrategy(stopFirstImages: readonly string[], image: string): Strategy {
  const candidate = imageForMatching(image);
  return stopFirstImages.some((g) => globMatch(g, candidate)) ? 'stop-first' : 'start-first';
}
/** What a redeploy may change; routing, public, network and name never change. */
export type RedeployChanges = Partial<Pick<RevisionSpec, 'image' | 'env' | 'labels' | 'port' | 'healthCheck' | 'limits' | 'idleTimeoutSec'>>;

export interface RedeployResult { revision: RevisionView; }

/** Bound on waiting for Traefik to catch up after the commit (the switch is already done). */
const SETTLE_MS = 15_000;

export interface Candidate {
  rec: InstanceRecord;
  n: number;
  spec: RevisionSpec;
  labels: Record<string, string>;
  routeValue: string;
  identity: { token: string; hash: string };
}

export class Redeployer {
  private readonly busy = new Set<string>();

  constructor(
    readonly d: InstanceDeps,
    readonly service: InstanceService,
    readonly gate: GateDeps,
    private readonly probeNonce: string,
  ) {}

  /**
   * A forward deploy of `changes` on top of the active revision (rollback passes a whole spec).
   * `asked`: this redeploy's strategy; else the one the deploy chose; else stop-first for the
   * operator's SPAWNER_STOP_FIRST_IMAGES (matched on the image this redeploy runs); else start-first.
   */
  async redeploy(nameOrId: string, changes: RedeployChanges, by: string, asked?: Strategy): Promise<RedeployResult> {
    const revisions = this.revisions();
    const { name } = this.service.resolve(nameOrId);
    // Two redeploys at once: the second is refused, not queued behind the first.
    if (this.busy.has(name)) throw new SpawnerError('redeploy_in_progress', `a redeploy of ${name} is in progress`, 'nameOrId');
    this.busy.add(name);
    try {
      return await this.service.locks.run(name, async () => {
        const rec = this.service.resolve(name);
        const active = revisions.store.active(name);
        if (!active) throw new SpawnerError('conflict', `instance ${name} was deployed before revisions existed; delete and deploy it again`, 'nameOrId');
        const spec: RevisionSpec = { ...revisions.specOf(active), ...changes };
        const strategy = asked ?? spec.strategy ?? defaultStrategy(this.d.cfg.stopFirstImages, spec.image);
        const old = await this.service.requireContainer(rec);
        const running = old.state === 'running';
        if (running && strategy === 'start-first' && (!this.d.cfg.traefikDynamicDir || !this.d.traefik)) {
          throw new SpawnerError('conflict', 'a start-first redeploy of a running instance needs SPAWNER_TRAEFIK_DYNAMIC_DIR (Traefik\'s file provider); use "strategy": "stop-first"', 'strategy');
        }
        await this.service.ensureImage(spec.image);
        const c = this.candidate(rec, old, spec, revisions.store.nextNumber(name));
        revisions.record(name, c.n, spec, by, this.d.now());
        if (!running) await this.replaceStopped(c, old);
        else if (strategy === 'stop-first') await stopFirst(this, c, old);
        else await this.startFirst(c, old);
        return { revision: revisions.view(revisions.get(name, c.n)) };
      });
    } finally {
      this.busy.delete(name);
    }
  }

  revisions() {
    const r = this.d.revisions;
    if (!r) throw new SpawnerError('internal', 'revisions are not configured');
    return r;
  }

  private candidate(rec: InstanceRecord, old: ContainerInfo, spec: RevisionSpec, n: number): Candidate {
    const router = instanceRouterOf(old.labels, rec.name);
    const routeValue = router ? routeValueOf(router.rule, rec.name, this.d.cfg.cookieName) : null;
    if (!routeValue) throw new SpawnerError('conflict', `the container of ${rec.name} has no route the spawner wrote; delete and deploy it again`, 'nameOrId');
    const labels = { ...this.service.labelsFor({ ...spec, name: rec.name }, routeValue), [LABEL.revision]: String(n) };
    return { rec, n, spec, labels, routeValue, identity: newIdentity() };
  }

  /** Creates (does not start) the candidate's container. */
  async create(c: Candidate): Promise<string> {
    const own = this.service.networks.nameFor(c.rec.name);
    const env = this.d.identities ? { ...c.spec.env, ...identityEnv(c.identity.token, this.d.cfg) } : c.spec.env;
    // The instance's managed volume (the only data that survives a redeploy) goes into the new container too.
    const vol = this.service.volumes.of(c.rec.name);
    const id = await this.d.runtime.create({
      mounts: vol ? [{ type: 'volume', source: vol.name, target: vol.path }] : [],
      name: `${containerName(this.d.cfg, c.rec.name)}.r${c.n}`, hostname: c.rec.name, image: c.spec.image,
      networks: c.spec.network === this.d.cfg.network ? [own] : [own, c.spec.network],
      labels: c.labels, env, stopTimeoutSec: this.d.cfg.stopTimeoutSec, limits: limitsOf(c.spec.limits),
    });
    this.revisions().store.setContainer(c.rec.name, c.n, id);
    return id;
  }

  /** The full gate on the new container, the last step through Traefik by token only. */
  async gateNew(c: Candidate, id: string, signal: AbortSignal, extraHeaders: Record<string, string> = {}): Promise<void> {
    const probe = throughProxyRequest(this.d.cfg, this.gatedRecord(c, id), c.routeValue, this.probeNonce);
    const throughProxy = probe ? { ...probe, headers: { ...probe.headers, ...extraHeaders } } : undefined;
    await waitReady(this.gate, { record: this.gatedRecord(c, id), containerId: id, throughProxy }, signal);
  }

  gatedRecord(c: Candidate, id: string): InstanceRecord {
    return { ...c.rec, containerId: id, image: c.spec.image, port: c.spec.port, healthCheck: c.spec.healthCheck ?? null, labels: c.spec.labels };
  }

  /** ONE transaction: the instance runs `id` with the new configuration; revision n active. */
  async commit(c: Candidate, id: string): Promise<void> {
    const imageId = (await this.d.runtime.inspect(id).catch(() => null))?.imageId ?? null;
    const r = this.revisions();
    r.store.transaction(() => {
      this.d.instances.setConfig({ ...this.gatedRecord(c, id), idleTimeoutSec: c.spec.idleTimeoutSec ?? null });
      r.store.activate(c.rec.name, c.n, id, imageId, r.keep);
      this.d.identities?.set(c.rec.name, c.identity.hash, this.d.now());
    });
    this.d.events.append({ instance: c.rec.name, kind: 'redeployed', detail: { revision: c.n, image: c.spec.image } }, this.d.now());
  }

  /** Marks the revision failed at `step`, removes the new container; the caller restores routing. */
  async fail(c: Candidate, id: string | undefined, step: string, err: unknown): Promise<SpawnerError> {
    const reason = errorMessage(err);
    this.revisions().store.fail(c.rec.name, c.n, step, reason);
    if (id) await this.d.runtime.remove(id).catch(() => undefined);
    this.d.events.append({ instance: c.rec.name, kind: 'redeploy_failed', reason: step, detail: { revision: c.n } }, this.d.now());
    this.d.log.warn('redeploy failed', { instance: c.rec.name, revision: c.n, step, reason });
    return new SpawnerError('redeploy_failed', `revision ${c.n} of ${c.rec.name} failed at step "${step}"; the previous revision keeps serving`, undefined);
  }

  /** Stopped: nothing starts; the next wake starts the new revision. */
  private async replaceStopped(c: Candidate, old: ContainerInfo): Promise<void> {
    let id: string | undefined;
    try {
      id = await this.create(c);
    } catch (err) {
      throw await this.fail(c, id, 'create', err);
    }
    await this.commit(c, id);
    await this.d.runtime.remove(old.id).catch((err) => this.d.log.warn('old container not removed; the next rescan removes it', { instance: c.rec.name, error: errorMessage(err) }));
  }

  private async startFirst(c: Candidate, old: ContainerInfo): Promise<void> {
    const oldIp = instanceAddress(this.d.cfg, old, c.rec);
    const router = instanceRouterOf(old.labels, c.rec.name);
    if (!oldIp || !router || !this.d.traefik) throw await this.fail(c, undefined, 'route', new Error('the running container has no address or route'));
    const oldUrl = instanceUrl(oldIp, c.rec.port, '');
    const sw = new SwitchRoute(this.d.traefik, this.d.cfg.traefikDynamicDir, c.rec.name, router);
    const deadline = AbortSignal.timeout(this.d.cfg.wakeDeadlineSec * 1000);
    let step = 'route';
    let id: string | undefined;
    let newUrl: string | undefined;
    // Route steps are bounded on their own: a Traefik without the file provider fails fast.
    const routeStep = () => AbortSignal.any([deadline, AbortSignal.timeout(SETTLE_MS)]);
    try {
      await sw.point(oldUrl, routeStep());
      step = 'create';
      id = await this.create(c);
      step = 'start';
      await this.d.runtime.start(id);
      const ip = instanceAddress(this.d.cfg, (await this.d.runtime.inspect(id)) ?? old, c.rec);
      if (!ip || ip === oldIp) throw new Error('the new container has no address on the instance network');
      newUrl = instanceUrl(ip, c.spec.port, '');
      const token = randomBytes(32).toString('hex');
      step = 'route';
      await sw.point(oldUrl, routeStep(), { token, server: newUrl });
      step = 'gate';
      await this.gateNew(c, id, deadline, { [SWITCH_HEADER.toLowerCase()]: token });
      step = 'switch';
      await sw.point(newUrl, routeStep());
      // In the try: a commit that fails (the database) must not leave traffic on an uncommitted container.
      step = 'commit';
      await this.commit(c, id);
    } catch (err) {
      const failure = await this.fail(c, id, step, err);
      // Back to the labels only once the failed container is out of Traefik's Docker service.
      await sw.point(oldUrl, AbortSignal.timeout(SETTLE_MS)).catch(() => undefined);
      await sw.release([oldUrl], AbortSignal.timeout(SETTLE_MS));
      throw failure;
    }
    // Drain: the app gets SIGTERM and the deadline to finish in-flight requests.
    await this.d.runtime.stop(old.id, this.d.cfg.drainDeadlineSec).catch((err) => this.d.log.warn('old container stop failed', { instance: c.rec.name, error: errorMessage(err) }));
    await this.d.runtime.remove(old.id).catch((err) => this.d.log.warn('old container not removed; the next rescan removes it', { instance: c.rec.name, error: errorMessage(err) }));
    await sw.release([newUrl!], AbortSignal.timeout(SETTLE_MS));
  }
}
