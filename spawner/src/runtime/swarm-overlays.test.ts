import { describe, expect, it } from 'vitest';
import { removeOverlay } from './swarm-overlays.js';
import type { NetworkInfo } from './types.js';

/** A local engine whose removed overlay still answers `lingers` more inspects (Swarm's async removal). */
function local(lingers: number) {
  const calls: string[] = [];
  const net: NetworkInfo = { id: 'n1', name: 'spawner-x', labels: {}, internal: false, members: [] };
  return {
    calls,
    removeNetwork: async (name: string) => { calls.push(`remove ${name}`); },
    inspectNetwork: async (name: string) => { calls.push(`inspect ${name}`); return lingers-- > 0 ? net : null; },
  };
}

describe('removeOverlay', () => {
  it('returns only once the name no longer answers (a deploy of the same name must not find the old one)', async () => {
    const l = local(3);
    await removeOverlay(l, 'spawner-x', { timeoutMs: 1_000, pollMs: 1 });
    expect(l.calls).toEqual(['remove spawner-x', ...Array(4).fill('inspect spawner-x')]);
  });

  it('says so when the overlay stays', async () => {
    await expect(removeOverlay(local(1_000_000), 'spawner-x', { timeoutMs: 20, pollMs: 1 })).rejects.toThrow(/network spawner-x still there after its removal \(waited 20 ms\)/);
  });
});
