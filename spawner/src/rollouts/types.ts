/**
 * Fleet rollouts: one target (a new image and/or env) applied to every instance a selector
 * matches, canary first, then in waves, with a failure budget per wave. The state lives in the
 * store (store/rollouts.ts), so a restarted spawner resumes where it stopped.
 */

export interface RolloutSelector {
  /** Glob over the instance's current image (api/glob.ts syntax), e.g. `mock-app:*`. */
  image: string;
  /** Optional glob over instance names, e.g. `class-a-*`. */
  name?: string;
}

export interface RolloutTarget {
  image?: string;
  /** Env keys set (added or replaced) on each instance's own env; its other keys stay. */
  env?: Record<string, string>;
}

export interface RolloutSpec {
  selector: RolloutSelector;
  target: RolloutTarget;
  /** Instances upgraded alone first; 0: no canary wave. */
  canary: number;
  waveSize: number;
  waveDelaySec: number;
  /** A wave whose failed/size exceeds this pauses the rollout (0: any failure pauses). */
  maxFailureRatio: number;
}

/**
 * `pulling`: the target image is fetched once before any wave. `paused`: by the operator or by a
 * wave over its failure budget (reason says which). `done`, `aborted`, `failed`: final.
 */
export type RolloutStatus = 'pulling' | 'running' | 'paused' | 'done' | 'aborted' | 'failed';

/**
 * `deferred`: the instance was asleep; it moved to the new revision without being woken and
 * starts it at its next wake. `skipped`: deleted meanwhile, or left pending by an abort.
 */
export type ItemStatus =
  | 'pending' | 'upgrading' | 'upgraded' | 'deferred' | 'failed' | 'rolled_back' | 'skipped';

export const FINAL_ROLLOUT: readonly RolloutStatus[] = ['done', 'aborted', 'failed'];

export interface RolloutItem {
  instance: string;
  /** 0 is the canary wave when canary > 0. */
  wave: number;
  status: ItemStatus;
  /** The instance's revision when the rollout reached it (what a failed wave rolls back to). */
  fromRevision: number | null;
  toRevision: number | null;
  reason: string | null;
}

export interface RolloutRecord {
  id: number;
  spec: RolloutSpec;
  status: RolloutStatus;
  reason: string | null;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  items: RolloutItem[];
}

/**
 * What the runner needs from the instances domain (redeploys and rollbacks of issue 12), so its
 * logic is tested without an engine. Implemented over the revisions service in main.ts.
 */
export interface Upgrader {
  /** Every instance with its current image, to match selectors against. */
  candidates(): { name: string; image: string }[];
  exists(name: string): boolean;
  currentRevision(name: string): number | null;
  /** Pulls the image unless present, bounded by the pull timeout; throws image_unavailable. */
  ensureImage(image: string): Promise<void>;
  /**
   * A redeploy through the full gate and switch. Resolves with the new revision, `deferred` when
   * the instance was not running (it moved without being started). Rejects when the new revision
   * failed (the old one keeps serving).
   */
  upgrade(name: string, target: RolloutTarget, by: string): Promise<{ revision: number; deferred: boolean }>;
  /** A forward deploy of `revision`'s configuration. */
  rollback(name: string, revision: number, by: string): Promise<void>;
}
