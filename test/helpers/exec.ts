/** `docker exec` with stdout and stderr demultiplexed, for looks from inside a container. */
import type Docker from 'dockerode';

export async function execOut(container: Docker.Container, cmd: string[], workingDir?: string, user?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, ...(workingDir ? { WorkingDir: workingDir } : {}), ...(user ? { User: user } : {}) });
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
  return { code: ExitCode ?? -1, stdout, stderr };
}

/** /data/note.txt written as the app's user (`node`): what a tenant keeps in its data volume. */
export function writeDataNote(container: Docker.Container, text: string): ReturnType<typeof execOut> {
  return execOut(container, ['sh', '-c', 'printf %s "$1" > /data/note.txt', 'sh', text], undefined, 'node');
}

/** The text of /data/note.txt, or null when it cannot be read (no such file). */
export async function readDataNote(container: Docker.Container): Promise<string | null> {
  const r = await execOut(container, ['cat', '/data/note.txt'], undefined, 'node');
  return r.code === 0 ? r.stdout : null;
}
