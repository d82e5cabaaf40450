/**
 * Edge containers (plain containers on a manager) joining instance overlays. A plain container
 * joins an overlay through a network-attachment task on the manager; two at once were seen to
 * time out ("attaching to network failed ... context deadline exceeded") and the attachment to
 * complete later (then 409 "already attached"); a fresh overlay was also "not found" for a moment.
 * So: one at a time, again (with backoff) on those, and "already attached" is success.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { DockerRuntime } from './docker.js';

const TRIES = 5;

export class OverlayAttacher {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly local: Pick<DockerRuntime, 'connect'>) {}

  connect(network: string, id: string, aliases?: string[]): Promise<void> {
    const run = async (): Promise<void> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.local.connect(network, id, aliases);
        } catch (err) {
          const msg = String((err as { message?: string } | null)?.message ?? err);
          if (/already attached/i.test(msg)) return;
          const transient = /attaching to network failed|deadline exceeded|network \S+ not found/i.test(msg);
          if (attempt >= TRIES || !transient) throw err;
          await sleep(100 * 2 ** (attempt - 1));
        }
      }
    };
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => undefined);
    return p;
  }
}
