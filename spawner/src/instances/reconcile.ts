/**
 * Keeps the store true to Docker: events as they come, plus a full rescan at start-up, after every
 * event-stream reconnection and periodically. Only containers carrying this spawner's id label are
 * ever looked at or touched, whatever their name. What changed while the event stream was down is
 * logged by the rescan that follows (Docker replays at most its last 256 events, so it is diffed,
 * not replayed), marked `detail.seenBy = 'rescan'`.
 */
import { errorMessage } from '../log.js';
import { LABEL, ownershipLabels } from '../traefik/labels.js';
import type { ContainerInfo, ContainerState, RuntimeEvent } from '../runtime/types.js';
import { containerName, type InstanceDeps } from './deps.js';
import type { InstanceService } from './service.js';
import type { RescanBase } from './states.js';
import type { EventKind } from './expectations.js';

type ExternalKind = 'external_start' | 'external_stop' | 'external_remove';
/** The engine event each external change stands for. */
const CAUSE_OF: Record<ExternalKind, EventKind> = { external_start: 'start', external_stop: 'die', external_remove: 'destroy' };
const STOPPED: ReadonlySet<ContainerState> = new Set(['exited', 'created', 'dead']);

export class Reconciler {
  private inFlight: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(private readonly d: InstanceDeps, private readonly service: InstanceService) {}

  /** Events from the engine: record what happened behind our back. */
  onEvent(ev: RuntimeEvent): void {
    if (ev.kind !== 'start' && ev.kind !== 'die' && ev.kind !== 'destroy') return;
    const rec = this.d.instances.getByContainerId(ev.id);
    if (!rec) return;
    if (this.service.expected.consume(ev.id, ev.kind)) return; // we caused it
    const kind = ev.kind === 'start' ? 'external_start' : ev.kind === 'die' ? 'external_stop' : 'external_remove';
    this.d.events.append({ instance: rec.name, kind, reason: 'external' }, this.d.now());
    if (kind === 'external_stop') this.d.metrics.stops.inc({ reason: 'external' });
  }

  /**
   * Repairs what a crash can leave: a row without a container id (crash between insert and
   * create: adopt the container if it exists, else drop the row) and an owned container without a
   * row (crash between remove and delete: remove it).
   */
  rescan(): Promise<void> {
    // Single-flight: start-up, the event stream's first connect and the timer all ask at once.
    // Two overlapping passes would both remove the same orphan (one gets 409 and returns before
    // the container is gone) and log every repair twice. Callers during a pass share ONE
    // follow-up pass, so what they ask to see (e.g. after a reconnect) is still rescanned.
    if (!this.inFlight) {
      this.inFlight = this.rescanOnce().finally(() => { this.inFlight = undefined; });
      return this.inFlight;
    }
    this.queued ??= this.inFlight.catch(() => undefined).then(() => {
      this.queued = undefined;
      return this.rescan();
    });
    return this.queued;
  }

  private async rescanOnce(): Promise<void> {
    // The base is taken BEFORE listing: an event that arrives during the list marks its id as
    // changed, so the change it reports is logged once (by onEvent), not again by the diff.
    const base = this.service.states.beginRescan();
    const owned = await this.d.runtime.list(ownershipLabels(this.d.spawnerId));
    const deferred = base.primed ? this.logMissed(base, owned) : [];
    this.service.states.endRescan(base, owned, deferred);
    const rows = this.d.instances.list();
    const byName = new Map(rows.map((r) => [r.name, r]));
    for (const rec of rows) {
      if (rec.containerId || this.service.locks.isLocked(rec.name)) continue;
      await this.service.locks.run(rec.name, async () => {
        const c = owned.find((o) => o.name === containerName(this.d.cfg, rec.name) && o.labels[LABEL.instance] === rec.name);
        if (c) {
          this.d.instances.setContainerId(rec.name, c.id);
          this.d.events.append({ instance: rec.name, kind: 'adopted', detail: { containerId: c.id } }, this.d.now());
        } else if (!this.d.instances.get(rec.name)?.containerId) {
          await this.service.volumes.dropUnborn(rec.name); // a volume made for a container that never was
          this.d.instances.delete(rec.name);
          this.d.events.append({ instance: rec.name, kind: 'cleaned', reason: 'no container after crash' }, this.d.now());
        }
      });
    }
    for (const c of owned) {
      const name = c.labels[LABEL.instance] ?? '';
      const rec = byName.get(name);
      if (rec?.containerId === c.id || (rec && !rec.containerId) || this.service.locks.isLocked(name)) continue;
      if (!rec && this.d.instances.get(name)) continue; // a deploy inserted it after our snapshot
      await this.d.runtime.remove(c.id).catch((err) => this.d.log.warn('cleanup failed', { id: c.id, error: errorMessage(err) }));
      this.d.events.append({ instance: name || c.name, kind: 'cleaned', reason: 'container without row' }, this.d.now());
    }
    await this.networks(owned);
    await this.service.volumes.reconcile((n) => this.service.locks.isLocked(n))
      .catch((err) => this.d.log.warn('volume reconciliation failed', { error: errorMessage(err) }));
  }

  /**
   * Instance networks: remove one whose instance has no row (a crash mid deploy or delete),
   * make again one removed outside under a container of ours, and put every edge container
   * (Traefik, the spawner) on every instance network: a recreated Traefik is on none of them.
   */
  private async networks(owned: ContainerInfo[]): Promise<void> {
    const nets = this.service.networks;
    const present = await nets.owned();
    /** Instance networks kept: network name → instance. */
    const kept = new Map(present.map((n) => [n.name, n.labels[LABEL.instance] ?? '']));
    for (const n of present) {
      const name = n.labels[LABEL.instance] ?? '';
      if (this.d.instances.get(name) || this.service.locks.isLocked(name)) continue;
      await nets.remove(name).catch((err) => this.d.log.warn('network cleanup failed', { instance: name, error: errorMessage(err) }));
      kept.delete(n.name);
      this.d.events.append({ instance: name, kind: 'cleaned', reason: 'network without row' }, this.d.now());
    }
    for (const rec of this.d.instances.list()) {
      const c = rec.containerId ? owned.find((o) => o.id === rec.containerId) : undefined;
      // Containers without the egress label predate per-instance networks: nothing to repair.
      if (!c || c.labels[LABEL.egress] === undefined || kept.has(nets.nameFor(rec.name)) || this.service.locks.isLocked(rec.name)) continue;
      await this.service.locks.run(rec.name, async () => {
        await nets.repair(rec.name, c.id, c.labels[LABEL.egress] !== 'false');
        kept.set(nets.nameFor(rec.name), rec.name);
        this.d.events.append({ instance: rec.name, kind: 'network_repaired', reason: 'network removed outside' }, this.d.now());
      }).catch((err) => this.d.log.warn('network repair failed', { instance: rec.name, error: errorMessage(err) }));
    }
    const edges = await nets.edges();
    for (const [network, instance] of kept) {
      // Under the instance's lock, and only while its row exists: a DELETE running meanwhile has
      // taken the edges off to remove the network, and must not find one put back (Docker then
      // refuses the removal: "active endpoints"). A held lock is skipped; the next rescan comes.
      await this.service.locks.tryRun(instance, async () => {
        if (this.d.instances.get(instance)) await nets.connectEdges(network, edges);
      })?.catch((err) => this.d.log.warn('edge connect failed', { network, error: errorMessage(err) }));
    }
  }

  /**
   * Logs as external_* what changed between `base` and the engine's list without any event (the
   * stream was down), for containers of a row. Ids we caused a change of consume their expectation
   * instead, as in onEvent. Returns the ids of instances whose lock is held: the operation running
   * owns that change, and the next rescan looks at them again.
   */
  private logMissed(base: RescanBase, owned: ContainerInfo[]): string[] {
    const now = new Map(owned.map((c) => [c.id, c.state]));
    const deferred: string[] = [];
    for (const [id, was] of base.states) {
      if (this.service.states.changedSince(base, id)) continue; // an event told onEvent meanwhile
      const is = now.get(id);
      let kind: ExternalKind | undefined;
      if (is === undefined) kind = 'external_remove';
      else if (was === 'running' && STOPPED.has(is)) kind = 'external_stop';
      else if (was !== 'running' && is === 'running') kind = 'external_start';
      if (!kind) continue;
      const rec = this.d.instances.getByContainerId(id);
      if (!rec) continue;
      if (this.service.locks.isLocked(rec.name)) {
        deferred.push(id);
        continue;
      }
      if (this.service.expected.consume(id, CAUSE_OF[kind])) continue; // we caused it
      this.d.events.append({ instance: rec.name, kind, reason: 'external', detail: { seenBy: 'rescan' } }, this.d.now());
      if (kind === 'external_stop') this.d.metrics.stops.inc({ reason: 'external' });
    }
    return deferred;
  }
}
