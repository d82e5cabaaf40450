/**
 * Each instance's managed data volume. Its name is derived from the instance name alone and it
 * carries this installation's labels, so a request can never choose what gets mounted: not a host
 * path, not another instance's volume, not a volume some other tool made.
 *
 * Lifetime: created by the deploy that first needs it, mounted into that instance's container
 * only, kept across stops, idle stops and DELETE (then `retained`: no row, listed by GET /volumes)
 * until DELETE ?purge=true or DELETE /volumes/:name. A retained volume is mounted again only by a
 * deploy of the same name that asks for it (`volume.reuse`): the name may now belong to someone else.
 */
import { SpawnerError } from '../errors.js';
import { errorMessage } from '../log.js';
import { LABEL, ownershipLabels, volumeLabels } from '../traefik/labels.js';
import { VolumeInUseError, type VolumeInfo, type VolumeMount } from '../runtime/types.js';
import type { VolumeRecord } from '../store/volumes.js';
import { engine, type InstanceDeps } from './deps.js';
import type { KeyedLock } from './lock.js';
import type { DeploySpec } from './types.js';

/** What a deploy will do with its volume, decided before anything is created. */
export interface VolumePlan {
  name: string;
  path: string;
  /** A retained volume of ours is mounted again (so a failed deploy must never remove it). */
  reattach: boolean;
  /** Set once this deploy made the volume: only then may its failure remove it. */
  created?: boolean;
}

/** One volume as GET /volumes shows it. */
export interface VolumeEntry {
  instance: string;
  name: string;
  status: 'attached' | 'retained' | 'missing';
  path: string | null;
  createdAt: string | null;
}

export class InstanceVolumes {
  /** Volumes without a row already logged by a rescan (reported once per process, not every pass). */
  private readonly reported = new Set<string>();

  constructor(private readonly d: InstanceDeps, private readonly locks: KeyedLock) {}

  nameFor(instance: string): string {
    return `${this.d.cfg.containerPrefix}${instance}-data`;
  }

  private ours(v: VolumeInfo, instance: string): boolean {
    return Object.entries(volumeLabels(this.d.spawnerId, instance)).every(([k, val]) => v.labels[k] === val);
  }

  private event(instance: string, kind: 'volume_created' | 'volume_reattached' | 'volume_retained' | 'volume_removed' | 'volume_missing', detail: Record<string, unknown>, reason?: string): void {
    this.d.events.append({ instance, kind, detail, ...(reason ? { reason } : {}) }, this.d.now());
  }

  /** Before any row, network or container: refuses what must not be mounted. */
  async plan(spec: DeploySpec): Promise<VolumePlan | null> {
    if (!spec.volume) return null;
    if (!this.d.volumes) throw new SpawnerError('runtime_unavailable', 'managed volumes are not configured on this spawner', 'volume');
    const name = this.nameFor(spec.name);
    const existing = await engine(this.d.runtime.inspectVolume(name));
    if (existing && !this.ours(existing, spec.name)) {
      throw new SpawnerError('conflict', `a volume named ${name} already exists and is not this spawner's volume of instance ${spec.name}; it is never mounted`, 'volume');
    }
    if (existing && !spec.volume.reuse) {
      throw new SpawnerError('volume_retained', `instance name ${spec.name} has a retained data volume (${name}) from an earlier instance: `
        + 'send "volume": {"reuse": true} to mount that data again, or remove it first with DELETE /volumes/' + spec.name, 'volume.reuse');
    }
    return { name, path: spec.volume.path, reattach: existing !== null };
  }

  /**
   * After the row: records the volume (before the engine call, like the instance row: a crash
   * then knows whether this deploy made it), makes or takes back the volume, gives the mounts.
   */
  async attach(instance: string, plan: VolumePlan | null): Promise<VolumeMount[]> {
    if (!plan || !this.d.volumes) return [];
    this.d.volumes.insert({ instance, name: plan.name, path: plan.path, status: 'attached', created: !plan.reattach, createdAt: this.d.now() });
    if (!plan.reattach) {
      const info = await this.d.runtime.createVolume({ name: plan.name, labels: volumeLabels(this.d.spawnerId, instance) });
      // The engine hands back a volume that appeared since plan() unchanged: never ours to mount.
      if (!this.ours(info, instance)) throw new SpawnerError('conflict', `a volume named ${plan.name} appeared meanwhile and is not this spawner's`, 'volume');
      plan.created = true;
    }
    this.event(instance, plan.reattach ? 'volume_reattached' : 'volume_created', { name: plan.name, path: plan.path });
    return [{ type: 'volume', source: plan.name, target: plan.path }];
  }

  /** A failed deploy, after its container is gone: removes the volume only if this deploy made it. */
  async undo(instance: string, plan: VolumePlan | null): Promise<void> {
    if (!plan?.created) return;
    try {
      await this.d.runtime.removeVolume(plan.name);
      this.event(instance, 'volume_removed', { name: plan.name }, 'deploy_failed');
    } catch (err) {
      this.d.log.warn('volume of a failed deploy not removed; it is listed as retained', { instance, volume: plan.name, error: errorMessage(err) });
    }
  }

  /**
   * Rescan, for a row whose container never came to be (kill -9 mid deploy): the volume that
   * deploy made has never been mounted, so it holds nobody's data and goes with the row. A
   * reattached one stays (retained).
   */
  async dropUnborn(instance: string): Promise<void> {
    const rec = this.d.volumes?.get(instance);
    if (!rec?.created) return;
    const info = await this.d.runtime.inspectVolume(rec.name).catch(() => null);
    if (!info || !this.ours(info, instance)) return;
    await this.undo(instance, { name: rec.name, path: rec.path, reattach: false, created: true });
  }

  of(instance: string): VolumeRecord | undefined {
    return this.d.volumes?.get(instance);
  }

  /** DELETE, after the container is removed: keep the data (retained) or, with purge, remove it. */
  async release(instance: string, rec: VolumeRecord | undefined, purge: boolean): Promise<{ name: string; status: 'retained' | 'removed' } | null> {
    if (!rec) return null;
    if (purge) {
      try {
        const info = await this.d.runtime.inspectVolume(rec.name);
        if (info && this.ours(info, instance)) await this.d.runtime.removeVolume(rec.name);
        this.event(instance, 'volume_removed', { name: rec.name }, 'purged');
        return { name: rec.name, status: 'removed' };
      } catch (err) {
        this.d.log.warn('volume not purged; it is kept as retained', { instance, volume: rec.name, error: errorMessage(err) });
      }
    }
    this.event(instance, 'volume_retained', { name: rec.name, path: rec.path }, purge ? 'purge_failed' : 'deleted');
    return { name: rec.name, status: 'retained' };
  }

  /** Owned volumes on the engine (attached or retained) plus rows whose volume vanished. */
  async list(): Promise<VolumeEntry[]> {
    const rows = new Map((this.d.volumes?.list() ?? []).map((r) => [r.name, r]));
    const owned = await this.ownedVolumes();
    const seen = new Set(owned.map((v) => v.name));
    const entries: VolumeEntry[] = owned.map((v) => {
      const row = rows.get(v.name);
      return { instance: v.labels[LABEL.instance] as string, name: v.name, status: row ? 'attached' : 'retained', path: row?.path ?? null, createdAt: v.createdAt ?? null };
    });
    for (const r of rows.values()) {
      if (!seen.has(r.name)) entries.push({ instance: r.instance, name: r.name, status: 'missing', path: r.path, createdAt: null });
    }
    return entries.sort((a, b) => a.instance.localeCompare(b.instance));
  }

  private async ownedVolumes(): Promise<VolumeInfo[]> {
    const all = await this.d.runtime.listVolumes(ownershipLabels(this.d.spawnerId));
    // Exactly the name we would derive: a labelled volume of any other name is not an instance's.
    return all.filter((v) => { const i = v.labels[LABEL.instance]; return i !== undefined && v.name === this.nameFor(i); });
  }

  /** DELETE /volumes/:name: a retained volume only (409 while its instance exists or a container uses it). */
  async removeRetained(instance: string): Promise<void> {
    await this.locks.run(instance, async () => {
      if (this.d.instances.get(instance)) {
        throw new SpawnerError('conflict', `instance ${instance} exists and uses this volume; DELETE /deploy/${instance}?purge=true removes both`, 'name');
      }
      const name = this.nameFor(instance);
      const info = await engine(this.d.runtime.inspectVolume(name));
      if (!info || !this.ours(info, instance)) throw new SpawnerError('not_found', `no retained volume of instance ${instance}`, 'name');
      try {
        await this.d.runtime.removeVolume(name);
      } catch (err) {
        if (err instanceof VolumeInUseError) throw new SpawnerError('conflict', `volume ${name} is still used by a container`, 'name');
        throw err;
      }
      this.event(instance, 'volume_removed', { name }, 'api');
    });
  }

  /**
   * Rescan: a row whose volume vanished is flagged (once: event + `missing` in the view); an owned
   * volume without a row is reported, never deleted: it is someone's data. Rows are read BEFORE
   * the engine's list, so a volume created by a deploy meanwhile (made before its row) is seen.
   */
  async reconcile(isLocked: (instance: string) => boolean): Promise<void> {
    if (!this.d.volumes) return;
    const rows = this.d.volumes.list();
    const owned = await this.ownedVolumes();
    const names = new Set(owned.map((v) => v.name));
    for (const r of rows) {
      if (isLocked(r.instance)) continue;
      const status = names.has(r.name) ? 'attached' : 'missing';
      if (!this.d.volumes.setStatus(r.instance, status) || status !== 'missing') continue;
      this.d.log.warn('the data volume of an instance is gone (removed outside the spawner)', { instance: r.instance, volume: r.name });
      this.event(r.instance, 'volume_missing', { name: r.name, path: r.path }, 'external');
    }
    const rowNames = new Set(rows.map((r) => r.name));
    for (const v of owned) {
      if (rowNames.has(v.name) || this.reported.has(v.name)) continue;
      this.reported.add(v.name);
      this.d.log.info('retained volume, mounted by no instance', { volume: v.name, instance: v.labels[LABEL.instance], kept: 'GET /volumes lists it, DELETE /volumes/:name removes it' });
    }
  }
}
