/**
 * The runtime adapters' one wait: check, sleep, check again, until `done` or a deadline. A check
 * that throws ends the wait with its error (a failed task is an answer, not "not yet").
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface PollOptions {
  timeoutMs: number;
  pollMs: number;
}

/** Resolves when `done()` does; at the deadline throws `failure` (and how long it waited). */
export async function pollFor(failure: string, done: () => Promise<boolean>, o: PollOptions): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    if (await done()) return;
    if (Date.now() > deadline) throw new Error(`${failure} (waited ${o.timeoutMs} ms)`);
    await sleep(o.pollMs);
  }
}
