/**
 * Waiting for a mock-app container to be really up. Why it matters for stop tests: node runs as
 * PID 1 (no init), and PID 1 ignores SIGTERM until the app installs its handler, so a stop that
 * lands in the first few milliseconds after start is lost and Docker waits the whole stop timeout
 * before SIGKILL. mock-app installs its handler before it logs "listening".
 */
import { docker } from './stack.js';
import { pollUntil } from './poll.js';

export async function waitListening(containerId: string, timeoutMs = 15_000): Promise<void> {
  const c = docker.getContainer(containerId);
  await pollUntil(`mock-app ${containerId.slice(0, 12)} listening`, async () => {
    const info = await c.inspect();
    if (info.State.Status !== 'running') return undefined;
    // Only this run's log lines: a restarted container keeps the earlier ones.
    const since = (Date.parse(info.State.StartedAt) / 1000).toFixed(9);
    const logs = (await c.logs({ stdout: true, stderr: true, since } as never)) as unknown as Buffer;
    return logs.toString('utf8').includes('"msg":"listening"') ? true : undefined;
  }, { timeoutMs });
}
