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
import { InitStore } from '../store/init.js';
import { IdentityStore } from '../store/identity.js';
import { VolumeStore } from '../store/volumes.js';
import { Initializer } from '../instances/init.js';
import type { InitPost } from '../instances/init-http.js';

export interface MemoryDeps extends InstanceDeps {
  db: Database;
  runtime: FakeRuntime;
  initStore: InitStore;
  init: Initializer;
  identities: IdentityStore;
  volumes: VolumeStore;
}

/** InstanceDeps over FakeRuntime (with `images` already present) and a fresh in-memory database. */
export function memoryDeps(opts: {
  cfg?: Partial<Config>;
  spawnerId?: string;
  now?: () => number;
  images?: string[];
  /** Init key (default: a fixed test key; null: init not configured) and the HTTP attempt. */
  initKey?: Buffer | null;
  initPost?: InitPost;
} = {}): MemoryDeps {
  const db = openDatabase(':memory:');
  const runtime = new FakeRuntime();
  for (const image of opts.images ?? ['mock-app:latest']) runtime.images.add(image);
  const cfg = { ...structuredClone(DEFAULTS), ...opts.cfg };
  const now = opts.now ?? (() => Date.now());
  const initStore = new InitStore(db);
  const init = new Initializer({
    store: initStore, key: opts.initKey === undefined ? TEST_INIT_KEY : opts.initKey, maxResultBytes: cfg.initMaxResultBytes,
    log: silentLogger, now, post: opts.initPost,
  });
  return {
    db,
    initStore,
    init,
    identities: new IdentityStore(db),
    volumes: new VolumeStore(db),
    cfg,
    runtime,
    instances: new InstanceStore(db),
    events: new EventLog(db),
    spawnerId: opts.spawnerId ?? 'sp-test',
    log: silentLogger,
    metrics: createMetrics(),
    now,
  };
}

export const TEST_INIT_KEY = Buffer.alloc(32, 7);

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

/** The SpawnerError a synchronous call throws (fails the test if it returns or throws otherwise). */
export function thrown(f: () => unknown): SpawnerError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SpawnerError);
    return e as SpawnerError;
  }
  throw new Error('expected a SpawnerError to be thrown');
}
