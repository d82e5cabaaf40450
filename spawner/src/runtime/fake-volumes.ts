/**
 * The volumes of FakeRuntime: an engine's behaviour where it matters to our logic. Creating a
 * taken name hands back the existing volume unchanged (as Docker does); removing one that a
 * container still mounts fails.
 */
import { VolumeInUseError, type ContainerSpec, type VolumeInfo, type VolumeSpec } from './types.js';

export class FakeVolumes {
  readonly byName = new Map<string, VolumeInfo>();
  /** Make the next createVolume calls fail (engine error). */
  failCreate = false;

  constructor(private readonly specs: () => Iterable<ContainerSpec>) {}

  /** A volume made outside the spawner (another tool's, or left by a crash). */
  add(name: string, labels: Record<string, string> = {}): void {
    this.byName.set(name, { name, labels: { ...labels }, createdAt: '2026-01-01T00:00:00.000Z' });
  }

  create(spec: VolumeSpec): VolumeInfo {
    if (this.failCreate) throw new Error('volume create failed');
    if (!this.byName.has(spec.name)) this.byName.set(spec.name, { name: spec.name, labels: { ...spec.labels }, createdAt: new Date().toISOString() });
    return this.copy(spec.name) as VolumeInfo;
  }

  copy(name: string): VolumeInfo | null {
    const v = this.byName.get(name);
    return v ? { ...v, labels: { ...v.labels } } : null;
  }

  list(labels: Record<string, string>): VolumeInfo[] {
    return [...this.byName.keys()]
      .filter((n) => Object.entries(labels).every(([k, v]) => this.byName.get(n)?.labels[k] === v))
      .map((n) => this.copy(n) as VolumeInfo);
  }

  remove(name: string): void {
    if ([...this.specs()].some((s) => s.mounts?.some((m) => m.source === name))) throw new VolumeInUseError(name);
    this.byName.delete(name);
  }
}
