/**
 * Reads the Docker event log for a past window (since..until, seconds). With `until` set, the
 * engine replays the window and closes the stream, so this returns instead of following.
 */
import { docker, RUN_LABEL } from './stack.js';

export interface DockerEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  time: number;
}

export async function dockerEvents(opts: { since: number; until: number; filters?: Record<string, string[]> }): Promise<DockerEvent[]> {
  const stream = (await docker.getEvents({
    since: Math.floor(opts.since),
    until: Math.ceil(opts.until),
    filters: opts.filters,
  } as Parameters<typeof docker.getEvents>[0])) as unknown as NodeJS.ReadableStream;
  let buf = '';
  for await (const chunk of stream) buf += chunk.toString();
  return buf.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as DockerEvent);
}

/**
 * Container `create` events of a spawner's instances: by its id label or by its container-name
 * prefix. The test stack's own containers (labelled RUN_LABEL; the spawner carries spawner.id for
 * Traefik's constraint) are not instances and are left out.
 */
export async function createEventsOf(spawnerId: string, namePrefix: string, since: number): Promise<DockerEvent[]> {
  const until = Date.now() / 1000 + 1;
  const all = await dockerEvents({ since, until, filters: { type: ['container'], event: ['create'] } });
  return all.filter((e) => {
    const a = e.Actor.Attributes;
    if (a[RUN_LABEL] !== undefined) return false;
    return a['spawner.id'] === spawnerId || (a.name ?? '').startsWith(namePrefix);
  });
}
