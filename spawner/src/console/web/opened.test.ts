import { describe, expect, it } from 'vitest';
import { detailLoader, openInstance } from './opened.js';

/** fetch() answers only when the test says so, in any order. */
function harness(start: string) {
  let hash = start;
  const pending: { name: string; answer: (v: string) => void }[] = [];
  const shown: string[] = [];
  const reload = detailLoader<string>({
    hash: () => hash,
    fetch: (name) => new Promise((answer) => pending.push({ name, answer })),
    show: (name, answer) => shown.push(`${name}:${answer}`),
  });
  return {
    reload, shown, pending,
    go: (h: string) => { hash = h; },
    answer: async (i: number) => { pending[i]!.answer(`v${i}`); await new Promise((r) => setTimeout(r, 0)); },
  };
}

describe('the open instance page', () => {
  it('is named by the address, escapes decoded; other pages and malformed escapes name none', () => {
    expect(openInstance('#/i/web-1')).toBe('web-1');
    expect(openInstance('#/i/a%2Fb')).toBe('a/b');
    expect(['#/', '#/fleet', '', '#/i/%E0%A4%A'].map(openInstance)).toEqual([null, null, null, null]);
  });

  it('a push for the page shown before does not bring that page back over the new one', async () => {
    // The console failed this way: on sleeper's page, open doomed's; sleeper (idle-stopping) is
    // pushed while doomed loads, and the reload for it won over doomed's load.
    const h = harness('#/i/sleeper');
    void h.reload();
    await h.answer(0);
    h.go('#/i/doomed');
    void h.reload(); // the route change
    void h.reload(); // the push that arrived meanwhile: loads the open page, doomed
    expect(h.pending.map((p) => p.name)).toEqual(['sleeper', 'doomed', 'doomed']);
    await h.answer(2);
    await h.answer(1); // the older load answers last: not shown
    expect(h.shown).toEqual(['sleeper:v0', 'doomed:v2']);
  });

  it('an answer for a page left meanwhile is not shown; off an instance page nothing loads', async () => {
    const h = harness('#/i/a');
    void h.reload();
    h.go('#/fleet');
    await h.answer(0);
    void h.reload();
    expect(h.shown).toEqual([]);
    expect(h.pending).toHaveLength(1);
  });
});
