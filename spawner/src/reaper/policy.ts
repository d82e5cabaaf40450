/** When an instance counts as idle. Pure: the reaper loop and its tests share these rules. */
import type { InstanceRecord } from '../instances/types.js';

/** Per-instance timeout; null falls back to the global default; 0 = never stop for idleness. */
export function idleTimeoutSec(rec: Pick<InstanceRecord, 'idleTimeoutSec'>, defaultSec: number): number {
  return rec.idleTimeoutSec ?? defaultSec;
}

/**
 * The latest moment the instance is known to have been in use: recorded activity, the last wake,
 * the container's start, and the moment the reaper began watching it (after a spawner restart,
 * use before that is unknown, so the clock starts then rather than stopping the app at once).
 */
export function lastActivityAt(
  rec: Pick<InstanceRecord, 'lastActivityAt' | 'lastWakeAt'>,
  startedAt: string | undefined,
  watchedSince: number | undefined,
): number {
  const started = startedAt ? Date.parse(startedAt) : Number.NaN;
  return Math.max(rec.lastActivityAt ?? 0, rec.lastWakeAt ?? 0, Number.isFinite(started) ? started : 0, watchedSince ?? 0);
}

export interface IdleVerdict {
  idle: boolean;
  idleForMs: number;
  timeoutSec: number;
}

export function idleVerdict(
  rec: Pick<InstanceRecord, 'idleTimeoutSec' | 'lastActivityAt' | 'lastWakeAt'>,
  startedAt: string | undefined,
  watchedSince: number | undefined,
  now: number,
  defaultSec: number,
): IdleVerdict {
  const timeoutSec = idleTimeoutSec(rec, defaultSec);
  const idleForMs = now - lastActivityAt(rec, startedAt, watchedSince);
  return { idle: timeoutSec > 0 && idleForMs >= timeoutSec * 1000, idleForMs, timeoutSec };
}
