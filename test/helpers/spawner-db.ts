/**
 * Read-only look into the spawner's SQLite file from inside its container (docker exec + the
 * image's own better-sqlite3), for facts the API deliberately hides, such as the lifecycle events
 * of an instance that has no row (a container cleaned up after a crash), or whether a secret is
 * anywhere in the bytes on disk.
 */
import type { Stack } from './stack.js';

/** Runs `node -e script arg` in the spawner container; its stdout, or throws with its stderr. */
async function execNode(stack: Stack, script: string, arg: string): Promise<string> {
  const exec = await stack.spawner.exec({
    Cmd: ['node', '-e', script, arg], AttachStdout: true, AttachStderr: true, WorkingDir: '/app',
  });
  const stream = await exec.start({});
  const out: Buffer[] = [];
  stream.on('data', (d: Buffer) => out.push(d));
  await new Promise((resolve, reject) => { stream.on('end', resolve); stream.on('error', reject); });
  // Non-TTY exec output is multiplexed: 8-byte frame headers (stream type, 0, 0, 0, length).
  const buf = Buffer.concat(out);
  let stdout = '';
  let stderr = '';
  for (let i = 0; i + 8 <= buf.length;) {
    const len = buf.readUInt32BE(i + 4);
    const chunk = buf.subarray(i + 8, i + 8 + len).toString('utf8');
    if (buf[i] === 2) stderr += chunk; else stdout += chunk;
    i += 8 + len;
  }
  const { ExitCode } = await exec.inspect();
  if (ExitCode !== 0) throw new Error(`exec failed (${ExitCode}): ${stderr.slice(0, 500)}`);
  return stdout;
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
