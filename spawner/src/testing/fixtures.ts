/**
 * Shared fixtures for unit tests of our own logic: the instances domain over FakeRuntime and an
 * in-memory SQLite store. Test-only (excluded from the build by spawner/tsconfig.json).
 */
import { expect } from 'vitest';
import { DEFAULTS, type Config } from '../config.js';
import { SpawnerError } from '../errors.js';
import type { InstanceDeps } from '../instances/deps.js';
import { silentLogger } from '../log.js';
import { createMetrics } from '../metrics.js';
import { FakeRuntime } from '../runtime/fake.js';
import { openDatabase, type Database } from '../store/db.js';
import { EventLog } from '../store/events.js';
import { InstanceStore } from '../store/instances.js';

export interface MemoryDeps extends InstanceDeps {
  db: Database;
  runtime: FakeRuntime;
}

/** InstanceDeps over FakeRuntime (with `images` already present) and a fresh in-memory database. */
export function memoryDeps(opts: {
  cfg?: Partial<Config>;
  spawnerId?: string;
  now?: () => number;
  images?: string[];
} = {}): MemoryDeps {
  const db = openDatabase(':memory:');
  const runtime = new FakeRuntime();
  for (const image of opts.images ?? ['mock-app:latest']) runtime.images.add(image);
  return {
    db,
    cfg: { ...structuredClone(DEFAULTS), ...opts.cfg },
    runtime,
    instances: new InstanceStore(db),
    events: new EventLog(db),
    spawnerId: opts.spawnerId ?? 'sp-test',
    log: silentLogger,
    metrics: createMetrics(),
    now: opts.now ?? (() => Date.now()),
  };
}

/** The SpawnerError a promise rejects with (fails the test if it resolves or rejects otherwise). */
export async function rejection(p: Promise<unknown>): Promise<SpawnerError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(SpawnerError);
    return e as SpawnerError;
  }
  throw new Error('expected a rejection');
}
