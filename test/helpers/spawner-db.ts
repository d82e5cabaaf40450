/**
 * Read-only look into the spawner's SQLite file from inside its container (docker exec + the
 * image's own better-sqlite3), for facts the API deliberately hides, such as the lifecycle events
 * of an instance that has no row (a container cleaned up after a crash).
 */
import type Docker from 'dockerode';
import type { Stack } from './stack.js';

export async function querySpawnerDb<T = Record<string, unknown>>(stack: Stack, sql: string, params: unknown[] = []): Promise<T[]> {
  const script = [
    "const D = require('better-sqlite3');",
    "const db = new D('/data/spawner.db', { readonly: true, fileMustExist: true });",
    'const [sql, params] = JSON.parse(process.argv[1]);',
    'process.stdout.write(JSON.stringify(db.prepare(sql).all(...params)));',
  ].join('\n');
  const { stdout, stderr, exitCode } = await execIn(stack.spawner, ['node', '-e', script, JSON.stringify([sql, params])], '/app');
  if (exitCode !== 0) throw new Error(`query failed (${exitCode}): ${stderr.slice(0, 500)}`);
  return JSON.parse(stdout) as T[];
}

/** Runs a command in a running container (docker exec) and returns its output and exit code. */
export async function execIn(container: Docker.Container, cmd: string[], workingDir?: string): Promise<{ stdout: string; stderr: string; exitCode: number | null }> {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, ...(workingDir ? { WorkingDir: workingDir } : {}) });
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
  return { stdout, stderr, exitCode: (await exec.inspect()).ExitCode };
}
