import { describe, expect, it } from 'vitest';
import { applyQuery, duration, esc, idleIn, rowHtml, type TableQuery } from './view.js';
import { instanceHtml, fleetHtml } from './detail.js';
import { wakeTimeline } from './charts.js';
import type { ConsoleRow } from './types.js';

const NOW = 1_800_000_000_000;
const row = (name: string, over: Partial<ConsoleRow> = {}): ConsoleRow => ({
  name, state: 'running', health: 'none', routing: 'cookie', image: 'mock-app:dev', idleTimeoutSec: 60,
  idleDueAt: NOW + 30_000, lastRequestAt: NOW - 5_000, wakes: 0, lastWakeMs: null, labels: {}, createdAt: NOW - 60_000, ...over,
});
const q = (over: Partial<TableQuery> = {}): TableQuery => ({ sort: 'name', desc: false, text: '', state: '', ...over });
const HOSTILE = '<img src=x onerror=alert(1)>"\'`&';

describe('escaping', () => {
  it('escapes every HTML-significant character', () => {
    expect(esc(HOSTILE)).toBe('&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&#96;&amp;');
    expect(esc(null)).toBe('');
  });

  it('never lets a hostile label, image, state or revision into a row as markup', () => {
    const html = rowHtml(row('a', { labels: { [HOSTILE]: HOSTILE }, state: HOSTILE, health: HOSTILE, routing: HOSTILE, revision: HOSTILE }), NOW, true);
    expect(html).not.toMatch(/<img|onerror=alert\(1\)>|"'/);
    expect(html.match(/&lt;img/g)).toHaveLength(6);
  });

  it('escapes the instance page and the fleet view too', () => {
    const r = row('a', { labels: { owner: HOSTILE }, image: HOSTILE });
    const page = instanceHtml({ row: r, events: [{ id: 1, at: NOW, kind: HOSTILE, reason: HOSTILE, detail: { x: HOSTILE } }], wakes: [], requests: [] }, NOW);
    expect(page).not.toContain('<img');
    const fleet = fleetHtml({ states: [[NOW, { [HOSTILE]: 1 }]], wakePercentiles: {}, startsInFlight: 0, maxConcurrentStarts: 8 });
    expect(fleet).not.toContain('<img');
  });
});

describe('formatting', () => {
  it('durations and idle countdowns', () => {
    expect([duration(12), duration(1500), duration(42_000), duration(125_000), duration(300_000), duration(7_260_000), duration(null)])
      .toEqual(['12 ms', '1.5 s', '42 s', '2 min 5 s', '5 min', '2 h 1 min', '–']);
    expect(idleIn(row('a'), NOW)).toBe('30 s');
    expect(idleIn(row('a'), NOW + 31_000)).toBe('due');
    expect(idleIn(row('a', { idleTimeoutSec: 0, idleDueAt: null }), NOW)).toBe('never');
    expect(idleIn(row('a', { state: 'exited', idleDueAt: null }), NOW)).toBe('–');
  });

  it('shows the revision column only when asked (no revisions yet)', () => {
    expect(rowHtml(row('a'), NOW, false).match(/<td/g)).toHaveLength(9);
    expect(rowHtml(row('a', { revision: 'r2' }), NOW, true)).toContain('<td>r2</td>');
  });

  it('draws one bar per wake split into the four phases', () => {
    const svg = wakeTimeline([{ at: NOW, started: true, start: 100, health: 200, route: 50, probe: 10, total: 360 }]);
    for (const p of ['start', 'health', 'route', 'probe']) expect(svg).toContain(`class="ph-${p}"`);
    expect(svg).toContain('360 ms');
  });
});

describe('sorting and filtering', () => {
  const rows = [
    row('web-10', { state: 'exited', idleDueAt: null, wakes: 3, labels: { team: 'blue' } }),
    row('web-2', { wakes: 10, lastWakeMs: 400 }),
    row('api-1', { wakes: 1, lastWakeMs: 90, labels: { team: 'red' } }),
  ];
  const names = (rs: ConsoleRow[]) => rs.map((r) => r.name);

  it('sorts names naturally, numbers numerically, either way', () => {
    expect(names(applyQuery(rows, q()))).toEqual(['api-1', 'web-2', 'web-10']);
    expect(names(applyQuery(rows, q({ sort: 'wakes', desc: true })))).toEqual(['web-2', 'web-10', 'api-1']);
  });

  it('puts missing values last in both directions', () => {
    expect(names(applyQuery(rows, q({ sort: 'lastWakeMs' })))).toEqual(['api-1', 'web-2', 'web-10']);
    expect(names(applyQuery(rows, q({ sort: 'lastWakeMs', desc: true })))).toEqual(['web-2', 'api-1', 'web-10']);
  });

  it('filters by every word (name, label, state) and by state', () => {
    expect(names(applyQuery(rows, q({ text: 'team=' })))).toEqual(['api-1', 'web-10']);
    expect(names(applyQuery(rows, q({ text: 'WEB blue' })))).toEqual(['web-10']);
    expect(names(applyQuery(rows, q({ state: 'running' })))).toEqual(['api-1', 'web-2']);
    expect(applyQuery(rows, q({ text: 'nothing-matches' }))).toEqual([]);
  });

  it('handles 1,000 instances: filter + sort + all row HTML well within a frame budget', () => {
    const many = Array.from({ length: 1000 }, (_, i) => row(`inst-${i}`, {
      state: i % 3 ? 'running' : 'exited', wakes: i % 17, lastWakeMs: i % 5 ? i : null, labels: { owner: `u${i % 40}` },
    }));
    const t0 = performance.now();
    const sorted = applyQuery(many, q({ sort: 'wakes', desc: true }));
    const html = sorted.map((r) => rowHtml(r, NOW, false)).join('');
    const filtered = applyQuery(many, q({ text: 'owner=u7 ', state: 'running' }));
    const ms = performance.now() - t0;
    expect(sorted).toHaveLength(1000);
    expect(html.match(/<tr /g)).toHaveLength(1000);
    expect(filtered.every((r) => r.state === 'running' && r.labels.owner?.startsWith('u7'))).toBe(true);
    expect(filtered.length).toBeGreaterThan(0);
    // Generous for a loaded CI machine; measured ~15 ms here.
    expect(ms).toBeLessThan(500);
  });
});
