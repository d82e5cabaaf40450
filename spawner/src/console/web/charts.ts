/**
 * Small SVG charts as strings (no library, no inline style: the CSP allows none). Pure, so unit
 * tests check what they draw; every text goes through esc().
 */
import { duration, esc } from './view.js';
import type { WakeTiming } from './types.js';

export const PHASES = ['start', 'health', 'route', 'probe'] as const;

/** Horizontal stacked bars, one per wake, split into the gate's phases, newest on top. */
export function wakeTimeline(wakes: readonly WakeTiming[], width = 640): string {
  if (wakes.length === 0) return '<p class="muted">No wakes recorded yet.</p>';
  const rows = [...wakes].sort((a, b) => b.at - a.at);
  const max = Math.max(...rows.map((w) => w.total), 1);
  const bar = 18;
  const left = 150;
  const scale = (width - left - 70) / max;
  const out = rows.map((w, i) => {
    const y = i * (bar + 6);
    let x = left;
    const parts = PHASES.map((p) => {
      const wpx = Math.max(0, w[p] * scale);
      const rect = `<rect class="ph-${p}" x="${x.toFixed(1)}" y="${y}" width="${wpx.toFixed(1)}" height="${bar}"><title>${p} ${esc(duration(w[p]))}</title></rect>`;
      x += wpx;
      return rect;
    }).join('');
    const label = `<text x="0" y="${y + 13}">${esc(new Date(w.at).toLocaleTimeString('en-GB'))}${w.started ? '' : ' (running)'}</text>`;
    return `${label}${parts}<text x="${(x + 6).toFixed(1)}" y="${y + 13}">${esc(duration(w.total))}</text>`;
  }).join('');
  const h = rows.length * (bar + 6);
  const legend = PHASES.map((p) => `<span class="key ph-${p}">${p}</span>`).join(' ');
  return `<svg class="chart" viewBox="0 0 ${width} ${h}" width="${width}" height="${h}" role="img" aria-label="Last ${rows.length} wakes by phase">${out}</svg><p class="legend">${legend}</p>`;
}

/** Fixed slots, newest at the right edge, so a short history does not draw a few huge bars. */
const SLOTS = 60;
const slotX = (i: number, n: number, w: number) => (Math.max(SLOTS, n) - n + i) * w;

/** Bar chart of [t, value] points (requests per interval, starts…), oldest left. */
export function barSeries(points: readonly [number, number][], label: string, width = 640, height = 120): string {
  if (points.length === 0) return `<p class="muted">No samples yet.</p>`;
  const max = Math.max(...points.map((p) => p[1]), 1);
  const w = width / Math.max(SLOTS, points.length);
  const bars = points.map(([t, v], i) => {
    const h = (v / max) * (height - 16);
    return `<rect class="bar" x="${slotX(i, points.length, w).toFixed(1)}" y="${(height - h).toFixed(1)}" width="${Math.max(1, w - 1).toFixed(1)}" height="${h.toFixed(1)}"><title>${esc(new Date(t).toLocaleTimeString('en-GB'))}: ${esc(v)}</title></rect>`;
  }).join('');
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(label)}, max ${esc(max)}"><text x="2" y="12">max ${esc(max)}</text>${bars}</svg>`;
}

/** Stacked area-ish bars of instances by state over time. */
export function stateSeries(points: readonly [number, Record<string, number>][], width = 640, height = 140): string {
  if (points.length === 0) return '<p class="muted">No samples yet.</p>';
  const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
  const max = Math.max(...points.map((p) => total(p[1])), 1);
  const w = width / Math.max(SLOTS, points.length);
  const states = [...new Set(points.flatMap((p) => Object.keys(p[1])))].sort();
  const cols = points.map(([t, c], i) => {
    let y = height;
    return states.map((s) => {
      const h = ((c[s] ?? 0) / max) * (height - 16);
      y -= h;
      return h > 0 ? `<rect class="st-${esc(s)}" x="${slotX(i, points.length, w).toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(1, w - 1).toFixed(1)}" height="${h.toFixed(1)}"><title>${esc(new Date(t).toLocaleTimeString('en-GB'))} ${esc(s)}: ${esc(c[s])}</title></rect>` : '';
    }).join('');
  }).join('');
  const legend = states.map((s) => `<span class="key st-${esc(s)}">${esc(s)}</span>`).join(' ');
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="Instances by state over time, max ${max}"><text x="2" y="12">max ${max}</text>${cols}</svg><p class="legend">${legend}</p>`;
}
