import { describe, expect, it } from 'vitest';
import { OverlayAttacher } from './swarm-attach.js';

/** A stand-in for DockerRuntime.connect that answers from a script and records overlap. */
function local(answers: (string | null)[]) {
  let inFlight = 0;
  const seen = { calls: 0, maxInFlight: 0 };
  return {
    seen,
    connect: async () => {
      seen.calls++;
      seen.maxInFlight = Math.max(seen.maxInFlight, ++inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
      const a = answers.shift() ?? null;
      if (a) throw new Error(a);
    },
  };
}

describe('OverlayAttacher', () => {
  it('attaches one at a time', async () => {
    const l = local([]);
    const a = new OverlayAttacher(l);
    await Promise.all(['n1', 'n2', 'n3'].map((n) => a.connect(n, 'edge')));
    expect(l.seen).toEqual({ calls: 3, maxInFlight: 1 });
  });

  it('tries again on a transient refusal, and takes "already attached" as done', async () => {
    const l = local(['attaching to network failed: context deadline exceeded', 'network spawner-x not found', 'endpoint already attached']);
    await new OverlayAttacher(l).connect('spawner-x', 'edge');
    expect(l.seen.calls).toBe(3);
  });

  it('fails at once on anything else, and the next attach still runs', async () => {
    const l = local(['permission denied']);
    const a = new OverlayAttacher(l);
    await expect(a.connect('n1', 'edge')).rejects.toThrow('permission denied');
    await a.connect('n2', 'edge');
    expect(l.seen.calls).toBe(2);
  });
});
