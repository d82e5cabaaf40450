/// <reference lib="dom" />
/**
 * The instances table of the console page: rows as the server pushed them, sorted and filtered
 * locally (view.ts), keyed DOM updates coalesced per frame, at most PAGE rows in the DOM.
 */
import { applyQuery, ago, idleIn, rowHtml, SORT_KEYS, type SortKey, type TableQuery } from './view.js';
import type { ConsoleRow } from './types.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
export const rows = new Map<string, ConsoleRow>();
const trs = new Map<string, { key: string; tr: HTMLTableRowElement }>();
const query: TableQuery = { sort: 'name', desc: false, text: '', state: '' };
let frame = 0;
let showRevision = false;
/**
 * Rows in the DOM at most (the rest is a "show more" away): sorting and filtering always cover
 * every instance, but laying out 1,000 table rows costs ~1 s per change on a small machine.
 */
const PAGE = 200;
let limit = PAGE;
let now = () => Date.now();

const HEADERS: Record<SortKey, string> = {
  name: 'Name', state: 'State', health: 'Health', routing: 'Routing', revision: 'Revision', idleTimeoutSec: 'Idle timeout',
  idleDueAt: 'Idle stop in', lastRequestAt: 'Last request', wakes: 'Wakes', lastWakeMs: 'Last wake', labels: 'Owner labels',
};

const NUMERIC = new Set<SortKey>(['idleTimeoutSec', 'idleDueAt', 'lastRequestAt', 'wakes', 'lastWakeMs']);

function renderHead(): void {
  const keys = SORT_KEYS.filter((k) => k !== 'revision' || showRevision);
  $('head').innerHTML = keys.map((k) => {
    const sort = query.sort === k ? (query.desc ? 'descending' : 'ascending') : 'none';
    return `<th scope="col" class="c-${k}${NUMERIC.has(k) ? ' num' : ''}" aria-sort="${sort}"><button type="button" data-sort="${k}">${HEADERS[k]}</button></th>`;
  }).join('');
}

/** Coalesces every change of a frame into one DOM update. */
export function schedule(): void {
  if (!frame) frame = requestAnimationFrame(() => { frame = 0; renderRows(); });
}

const tpl = document.createElement('template');
function renderRows(): void {
  const withRevision = [...rows.values()].some((r) => r.revision !== undefined);
  if (withRevision !== showRevision) { showRevision = withRevision; trs.clear(); renderHead(); }
  const all = applyQuery([...rows.values()], query);
  const list = all.slice(0, limit);
  const t = now();
  const body = $('rows');
  // Keyed: unchanged rows keep their element (and keyboard focus); changed ones are replaced.
  for (const r of list) {
    const key = JSON.stringify(r);
    const cur = trs.get(r.name);
    if (cur?.key === key) continue;
    tpl.innerHTML = rowHtml(r, t, showRevision);
    const tr = tpl.content.firstElementChild as HTMLTableRowElement;
    if (cur?.tr.parentNode) cur.tr.replaceWith(tr);
    trs.set(r.name, { key, tr });
  }
  const shown = new Set(list.map((r) => r.name));
  for (const name of trs.keys()) if (!shown.has(name)) { trs.get(name)?.tr.remove(); trs.delete(name); }
  const want = list.map((r) => trs.get(r.name)!.tr);
  const children = body.children;
  if (want.length !== children.length || want.some((tr, i) => children[i] !== tr)) body.replaceChildren(...want);
  $('count').textContent = `(${all.length} of ${rows.size})`;
  const more = $<HTMLButtonElement>('more');
  more.hidden = all.length <= list.length;
  more.textContent = `Show ${Math.min(PAGE, all.length - list.length)} more (${list.length} of ${all.length} shown)`;
  const states = [...new Set([...rows.values()].map((r) => r.state))].sort();
  const sel = $<HTMLSelectElement>('state-filter');
  const have = [...sel.options].map((o) => o.value).slice(1);
  if (have.join() !== states.join()) {
    sel.replaceChildren(new Option('all', ''), ...states.map((s) => new Option(s, s)));
    sel.value = query.state;
  }
}

/** Time-dependent cells tick locally; the data behind them only changes by server push. */
export function tickRows(): void {
  const t = now();
  for (const { tr } of trs.values()) {
    const r = rows.get(tr.dataset.name ?? '');
    if (!r) continue;
    const idle = tr.querySelector('[data-idle]');
    if (idle) idle.textContent = idleIn(r, t);
    const seen = tr.querySelector('[data-ago]');
    if (seen) seen.textContent = ago(r.lastRequestAt, t);
  }
}

/** Sorting (header buttons, keyboard included), filtering, "show more"; `clock` is the server's time. */
export function wireTable(clock: () => number): void {
  now = clock;
  renderHead();
  $('head').addEventListener('click', (e) => {
    const k = (e.target as HTMLElement).closest('button')?.dataset.sort as SortKey | undefined;
    if (!k) return;
    query.desc = query.sort === k ? !query.desc : false;
    query.sort = k;
    limit = PAGE; // a new order starts at its first page
    renderHead();
    schedule();
    (document.querySelector(`[data-sort="${k}"]`) as HTMLElement | null)?.focus();
  });
  $('more').addEventListener('click', () => { limit += PAGE; schedule(); });
  $<HTMLInputElement>('filter').addEventListener('input', (e) => { query.text = (e.target as HTMLInputElement).value; limit = PAGE; schedule(); });
  $<HTMLSelectElement>('state-filter').addEventListener('change', (e) => { query.state = (e.target as HTMLSelectElement).value; limit = PAGE; schedule(); });
}
