/**
 * Read-only look into the spawner's SQLite file from inside its container (docker exec + the
 * image's own better-sqlite3), for facts the API deliberately hides, such as the lifecycle events
 * of an instance that has no row (a container cleaned up after a crash), or whether a secret is
 * anywhere in the bytes on disk.
 */
import type { Stack } from './stack.js';
import { execOut } from './exec.js';

/** Runs `node -e script arg` in the spawner container; its stdout, or throws with its stderr. */
async function execNode(stack: Stack, script: string, arg: string): Promise<string> {
  const r = await execOut(stack.spawner, ['node', '-e', script, arg], '/app');
  if (r.code !== 0) throw new Error(`exec failed (${r.code}): ${r.stderr.slice(0, 500)}`);
  return r.stdout;
}

export async function querySpawnerDb<T = Record<string, unknown>>(stack: Stack, sql: string, params: unknown[] = []): Promise<T[]> {
  const script = [
    "const D = require('better-sqlite3');",
    "const db = new D('/data/spawner.db', { readonly: true, fileMustExist: true });",
    'const [sql, params] = JSON.parse(process.argv[1]);',
    'process.stdout.write(JSON.stringify(db.prepare(sql).all(...params)));',
  ].join('\n');
  return JSON.parse(await execNode(stack, script, JSON.stringify([sql, params]))) as T[];
}

/**
 * Which of `needles` occur anywhere in the raw bytes of the database files (main file and WAL):
 * what someone holding a copy of the data directory could read.
 */
export async function foundInDbFiles(stack: Stack, needles: string[]): Promise<string[]> {
  const script = [
    "const fs = require('fs');",
    "const files = ['/data/spawner.db', '/data/spawner.db-wal'].filter((f) => fs.existsSync(f));",
    'const bytes = Buffer.concat(files.map((f) => fs.readFileSync(f)));',
    'const needles = JSON.parse(process.argv[1]);',
    'process.stdout.write(JSON.stringify(needles.filter((n) => bytes.includes(Buffer.from(n)))));',
  ].join('\n');
  return JSON.parse(await execNode(stack, script, JSON.stringify(needles))) as string[];
}
