/** Pure wave arithmetic of a rollout: who goes in which wave, and when a wave has failed. */
import type { ItemStatus, RolloutItem, RolloutSpec } from './types.js';

/**
 * Wave numbers for instances in rollout order: the first `canary` instances form wave 0 (when
 * canary > 0), the rest follow `waveSize` at a time.
 */
export function assignWaves(names: readonly string[], spec: Pick<RolloutSpec, 'canary' | 'waveSize'>): number[] {
  const canary = Math.min(spec.canary, names.length);
  const first = canary > 0 ? 1 : 0;
  return names.map((_, i) => (i < canary ? 0 : first + Math.floor((i - canary) / spec.waveSize)));
}

/** The waves in order, with their items. */
export function waves(items: readonly RolloutItem[]): RolloutItem[][] {
  const byWave = new Map<number, RolloutItem[]>();
  for (const it of items) byWave.set(it.wave, [...(byWave.get(it.wave) ?? []), it]);
  return [...byWave.keys()].sort((a, b) => a - b).map((w) => byWave.get(w) as RolloutItem[]);
}

const OPEN: readonly ItemStatus[] = ['pending', 'upgrading'];

export function isOpen(item: RolloutItem): boolean {
  return OPEN.includes(item.status);
}

/**
 * A wave is over budget when failed / (instances the wave tried) > maxFailureRatio. Skipped
 * instances (deleted meanwhile) do not count either way.
 */
export function overBudget(wave: readonly RolloutItem[], maxFailureRatio: number): boolean {
  const tried = wave.filter((i) => i.status !== 'skipped');
  if (tried.length === 0) return false;
  const failed = tried.filter((i) => i.status === 'failed' || i.status === 'rolled_back').length;
  return failed / tried.length > maxFailureRatio;
}

export function counts(items: readonly RolloutItem[]): Record<ItemStatus, number> {
  const c: Record<ItemStatus, number> = {
    pending: 0, upgrading: 0, upgraded: 0, deferred: 0, failed: 0, rolled_back: 0, skipped: 0,
  };
  for (const it of items) c[it.status]++;
  return c;
}
