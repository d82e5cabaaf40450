/**
 * The `instances` table: what the spawner has deployed. Docker is the truth about containers;
 * this table is the truth about intent (what should exist, routing, secrets, activity times).
 */
import type { RoutingMode } from '../config.js';
import { SpawnerError } from '../errors.js';
import type { InstanceRecord } from '../instances/types.js';
import type { Database } from './db.js';

interface Row {
  name: string;
  container_id: string | null;
  image: string;
  network: string;
  port: number;
  routing: string;
  public: number;
  secret_hash: string | null;
  health_check: string | null;
  idle_timeout_sec: number | null;
  labels: string;
  created_at: number;
  last_wake_at: number | null;
  last_activity_at: number | null;
  revision?: number | null;
}

const COLUMNS =
  'name, container_id, image, network, port, routing, public, secret_hash, health_check, ' +
  'idle_timeout_sec, labels, created_at, last_wake_at, last_activity_at';

/** Reads add the number of the active revision (instance_revisions), if any. */
const READ = `${COLUMNS}, (SELECT n FROM instance_revisions r WHERE r.instance = instances.name AND r.status = 'active') AS revision`;

function toRecord(r: Row): InstanceRecord {
  return {
    name: r.name,
    containerId: r.container_id,
    image: r.image,
    network: r.network,
    port: r.port,
    routing: r.routing as RoutingMode, // guarded by a CHECK constraint
    public: r.public === 1,
    secretHash: r.secret_hash,
    healthCheck: r.health_check,
    idleTimeoutSec: r.idle_timeout_sec,
    labels: JSON.parse(r.labels) as Record<string, string>,
    createdAt: r.created_at,
    lastWakeAt: r.last_wake_at,
    lastActivityAt: r.last_activity_at,
    revision: r.revision ?? null,
  };
}

function toRow(rec: InstanceRecord): Row {
  return {
    name: rec.name,
    container_id: rec.containerId,
    image: rec.image,
    network: rec.network,
    port: rec.port,
    routing: rec.routing,
    public: rec.public ? 1 : 0,
    secret_hash: rec.secretHash,
    health_check: rec.healthCheck,
    idle_timeout_sec: rec.idleTimeoutSec,
    labels: JSON.stringify(rec.labels),
    created_at: rec.createdAt,
    last_wake_at: rec.lastWakeAt,
    last_activity_at: rec.lastActivityAt,
  };
}

/** Turns SQLite's uniqueness errors into the stable `conflict` code. */
function rethrowConflict(e: unknown, name: string): never {
  const code = e instanceof Error ? (e as Error & { code?: unknown }).code : undefined;
  const text = e instanceof Error ? e.message : '';
  if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    throw new SpawnerError('conflict', `instance "${name}" already exists`, 'name');
  }
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' && text.includes('container_id')) {
    const msg = 'container already belongs to another instance';
    throw new SpawnerError('conflict', msg, 'containerId');
  }
  throw e;
}

export class InstanceStore {
  private readonly stmts;

  constructor(db: Database) {
    const p = <T>(sql: string) => db.prepare<unknown[], T>(sql);
    this.stmts = {
      insert: p(
        `INSERT INTO instances (${COLUMNS}) VALUES (@name, @container_id, @image, @network, @port,
          @routing, @public, @secret_hash, @health_check, @idle_timeout_sec, @labels, @created_at,
          @last_wake_at, @last_activity_at)`,
      ),
      get: p<Row>(`SELECT ${READ} FROM instances WHERE name = ?`),
      byContainer: p<Row>(`SELECT ${READ} FROM instances WHERE container_id = ?`),
      list: p<Row>(`SELECT ${READ} FROM instances ORDER BY name`),
      setContainer: p('UPDATE instances SET container_id = ? WHERE name = ?'),
      setConfig: p(`UPDATE instances SET container_id = @container_id, image = @image, port = @port,
        health_check = @health_check, idle_timeout_sec = @idle_timeout_sec, labels = @labels WHERE name = @name`),
      // MAX(): timestamps only move forward, so a late, out-of-order touch cannot make an
      // active instance look idle to the reaper.
      touchWake: p(
        'UPDATE instances SET last_wake_at = MAX(COALESCE(last_wake_at, 0), ?) WHERE name = ?',
      ),
      touchActivity: p(
        'UPDATE instances SET last_activity_at = MAX(COALESCE(last_activity_at, 0), ?) ' +
          'WHERE name = ?',
      ),
      delete: p('DELETE FROM instances WHERE name = ?'),
      count: p<{ n: number }>('SELECT COUNT(*) AS n FROM instances'),
    };
  }

  /** Throws SpawnerError('conflict', ..., 'name') if the name is taken. */
  insert(rec: InstanceRecord): void {
    try {
      this.stmts.insert.run(toRow(rec));
    } catch (e) {
      rethrowConflict(e, rec.name);
    }
  }

  get(name: string): InstanceRecord | undefined {
    const row = this.stmts.get.get(name);
    return row ? toRecord(row) : undefined;
  }

  getByContainerId(containerId: string): InstanceRecord | undefined {
    const row = this.stmts.byContainer.get(containerId);
    return row ? toRecord(row) : undefined;
  }

  /** All instances, ordered by name. */
  list(): InstanceRecord[] {
    return this.stmts.list.all().map(toRecord);
  }

  /** Returns false if no such instance. Null detaches (e.g. the container was removed). */
  setContainerId(name: string, containerId: string | null): boolean {
    try {
      return this.stmts.setContainer.run(containerId, name).changes > 0;
    } catch (e) {
      rethrowConflict(e, name);
    }
  }

  /** A redeploy's commit: the instance now runs this container with this configuration. */
  setConfig(rec: Pick<InstanceRecord, 'name' | 'containerId' | 'image' | 'port' | 'healthCheck' | 'idleTimeoutSec' | 'labels'>): boolean {
    return this.stmts.setConfig.run({
      name: rec.name, container_id: rec.containerId, image: rec.image, port: rec.port,
      health_check: rec.healthCheck, idle_timeout_sec: rec.idleTimeoutSec, labels: JSON.stringify(rec.labels),
    }).changes > 0;
  }

  touchWake(name: string, at: number): boolean {
    return this.stmts.touchWake.run(at, name).changes > 0;
  }

  touchActivity(name: string, at: number): boolean {
    return this.stmts.touchActivity.run(at, name).changes > 0;
  }

  /** Returns false if no such instance. Lifecycle events are kept. */
  delete(name: string): boolean {
    return this.stmts.delete.run(name).changes > 0;
  }

  count(): number {
    return this.stmts.count.get()?.n ?? 0;
  }
}
