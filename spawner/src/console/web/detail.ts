/** Pure HTML of the instance page and the fleet view (every value escaped; see view.ts). */
import { barSeries, stateSeries, wakeTimeline, PHASES } from './charts.js';
import type { FleetView, InstanceDetail, LifecycleEntry } from './types.js';
import { ago, duration, esc, idleIn, labelText } from './view.js';

function time(t: number): string {
  return new Date(t).toISOString().replace('T', ' ').slice(0, 19);
}

function eventText(e: LifecycleEntry): string {
  if (e.kind === 'wake' && e.detail) {
    const d = e.detail;
    return PHASES.map((p) => `${p} ${duration(typeof d[p] === 'number' ? (d[p] as number) : null)}`).join(', ') + `; total ${duration(typeof d.total === 'number' ? d.total : null)}`;
  }
  return e.detail ? JSON.stringify(e.detail) : '';
}

/** Facts whose text the page's clock updates every second (main.ts tickClock). */
const TICKING: Record<string, string> = { 'idle stop in': ' data-idle=""', 'last request': ' data-ago=""' };

export function instanceHtml(d: InstanceDetail, now: number): string {
  const r = d.row;
  const running = r.state === 'running';
  const facts: [string, string][] = [
    ['state', `${r.state} (health ${r.health})`], ['image', r.image], ['routing', r.routing],
    ...(r.revision !== undefined ? [['revision', r.revision ?? '–'] as [string, string]] : []),
    ['idle timeout', r.idleTimeoutSec === 0 ? 'off' : duration(r.idleTimeoutSec * 1000)],
    ['idle stop in', idleIn(r, now)], ['last request', ago(r.lastRequestAt, now)],
    ['wakes', `${r.wakes} (last ${duration(r.lastWakeMs)})`], ['owner labels', labelText(r.labels) || '–'],
    ['created', time(r.createdAt)],
  ];
  const log = d.events.map((e) => `<tr><td>${esc(time(e.at))}</td><td>${esc(e.kind)}</td><td>${esc(e.reason ?? '')}</td><td>${esc(eventText(e))}</td></tr>`).join('');
  return `<p><a href="#/">← All instances</a></p>
<h2 id="instance-h">${esc(r.name)}</h2>
<div class="actions" role="group" aria-label="Actions on ${esc(r.name)}">
  <button type="button" data-action="start" ${running ? 'disabled' : ''}>Start</button>
  <button type="button" data-action="stop" ${running ? '' : 'disabled'}>Stop</button>
  <button type="button" data-action="delete" class="danger">Delete…</button>
</div>
<dl class="facts">${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd${TICKING[k] ?? ''}>${esc(v)}</dd>`).join('')}</dl>
<div class="grid2">
  <div><h3>Last wakes by phase</h3>${wakeTimeline(d.wakes)}</div>
  <div><h3>Requests through Traefik (per 5 s sample)</h3>${barSeries(d.requests, 'Requests per sample')}</div>
</div>
<h3>Lifecycle log</h3>
<div class="scroll"><table class="log"><thead><tr><th scope="col">time (UTC)</th><th scope="col">event</th><th scope="col">reason</th><th scope="col">detail</th></tr></thead><tbody>${log || '<tr><td colspan="4">No events.</td></tr>'}</tbody></table></div>`;
}

export function fleetHtml(f: FleetView): string {
  const rows = Object.entries(f.wakePercentiles).map(([phase, p]) => `<tr><th scope="row">${esc(phase)}</th><td class="num">${esc(duration(p.n ? p.p50 : null))}</td><td class="num">${esc(duration(p.n ? p.p90 : null))}</td><td class="num">${esc(duration(p.n ? p.p99 : null))}</td><td class="num">${esc(p.n)}</td></tr>`).join('');
  const last = f.states[f.states.length - 1]?.[1] ?? {};
  const now = Object.entries(last).map(([s, n]) => `${esc(s)} ${esc(n)}`).join(', ') || 'none';
  return `<h2 id="fleet-h">Fleet</h2>
<div class="grid2">
  <div><h3>Starts in flight</h3><p class="gauge" id="starts">${esc(f.startsInFlight)} / ${esc(f.maxConcurrentStarts)}</p><p class="muted">Wakes beyond <code>maxConcurrentStarts</code> wait in line for a slot (<code>maxQueuedWakes</code>), oldest first.</p>
  <h3>Instances now</h3><p>${now}</p></div>
  <div><h3>Wake duration percentiles (last ${esc(f.wakePercentiles.total?.n ?? 0)} wakes)</h3>
  <table><thead><tr><th scope="col">phase</th><th scope="col" class="num">p50</th><th scope="col" class="num">p90</th><th scope="col" class="num">p99</th><th scope="col" class="num">n</th></tr></thead><tbody>${rows}</tbody></table></div>
</div>
<h3>Instances by state over time</h3>${stateSeries(f.states)}`;
}
