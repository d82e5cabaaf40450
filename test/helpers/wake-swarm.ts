/**
 * "Did anything start?" on Swarm, where no container event names the instance: every scale-up
 * (or force update) of a service makes a new task, so a start is a task not seen before, listed
 * from now on. The listing runs every 100 ms; a task lives far longer (a stop waits until Swarm
 * removed it, which is seconds), so none is missed.
 */
import type { StartEvent, StartWatch } from './wake.js';
import { tasksOf } from './swarm.js';

export async function watchTaskStarts(serviceIds: string[]): Promise<StartWatch> {
  const since = Date.now();
  const seen = new Set<string>();
  // Tasks there already (a running instance's) are not starts.
  for (const id of serviceIds) for (const t of await tasksOf(id)) seen.add(t.ID);
  const events: StartEvent[] = [];
  let running = true;
  const poll = async () => {
    while (running) {
      for (const id of serviceIds) {
        for (const t of await tasksOf(id).catch(() => [])) {
          if (seen.has(t.ID)) continue;
          seen.add(t.ID);
          events.push({ id, time: Math.max(since, Date.parse(t.CreatedAt)) });
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  void poll();
  return {
    events,
    stop: () => {
      running = false;
      return [...events];
    },
  };
}
