/// <reference lib="dom" />
/**
 * The console page (browser only). State comes from one EventSource: a snapshot, then changed
 * rows as the server pushes them; nothing here polls the server. HTML comes from the pure,
 * escaping builders in view.ts / detail.ts; user-visible messages go through textContent.
 */
import { ago, idleIn } from './view.js';
import { rows, schedule, tickRows, wireTable } from './table.js';
import { fleetHtml, instanceHtml } from './detail.js';
import { patchInstance } from './patch.js';
import { detailLoader, openInstance } from './opened.js';
import type { ConsoleRow, FleetView, InstanceDetail } from './types.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
let csrf = '';
let skew = 0;
let fleet: FleetView | null = null;
let detail: InstanceDetail | null = null;
let stream: EventSource | null = null;
const now = () => Date.now() + skew;

function toast(msg: string): void {
  const t = $('toast');
  t.textContent = msg;
  setTimeout(() => { if (t.textContent === msg) t.textContent = ''; }, 6000);
}

async function call(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(path, {
    method, credentials: 'same-origin',
    headers: { 'content-type': 'application/json', ...(method === 'GET' ? {} : { 'x-csrf-token': csrf }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function problem(res: Response): Promise<string> {
  const p = (await res.json().catch(() => ({}))) as { detail?: string; code?: string };
  return `${p.code ?? res.status}: ${p.detail ?? res.statusText}`;
}

function show(section: 'login' | 'list' | 'instance' | 'fleet'): void {
  for (const s of ['login', 'list', 'instance', 'fleet', 'booting']) $(s).hidden = s !== section;
  $('nav').hidden = section === 'login';
  $('logout').hidden = section === 'login';
}

/** Time-dependent facts of the open instance page tick locally, like the table's cells. */
function tickClock(): void {
  tickRows();
  if (!detail || $('instance').hidden) return;
  const t = now();
  for (const el of $('instance').querySelectorAll('[data-idle]')) el.textContent = idleIn(detail.row, t);
  for (const el of $('instance').querySelectorAll('[data-ago]')) el.textContent = ago(detail.row.lastRequestAt, t);
}

/** An action on the open instance is in flight: its buttons stay disabled through re-renders. */
let acting = false;

type Loaded = { kind: 'signed-out' } | { kind: 'missing'; message: string } | { kind: 'found'; detail: InstanceDetail };

async function fetchDetail(name: string): Promise<Loaded> {
  const res = await call('GET', `/console/api/instances/${encodeURIComponent(name)}`);
  if (res.status === 401) return { kind: 'signed-out' };
  if (!res.ok) return { kind: 'missing', message: await problem(res) };
  return { kind: 'found', detail: (await res.json()) as InstanceDetail };
}

/** Loads the instance the address names now; the newest load's answer is the one shown (opened.ts). */
const reloadDetail = detailLoader<Loaded>({
  hash: () => location.hash,
  fetch: fetchDetail,
  show: (_name, loaded) => {
    const el = $('instance');
    if (loaded.kind === 'signed-out') return signedOut();
    if (loaded.kind === 'missing') {
      detail = null;
      el.innerHTML = '<p><a href="#/">← All instances</a></p><h2 id="instance-h">Not found</h2>';
      el.querySelector('h2')!.textContent = loaded.message;
      return;
    }
    detail = loaded.detail;
    patchInstance(el, instanceHtml(detail, now()), acting);
  },
});

async function act(action: string): Promise<void> {
  if (!detail) return;
  const name = detail.row.name;
  if (action === 'delete') {
    const dlg = $<HTMLDialogElement>('confirm');
    $('confirm-text').textContent = `This stops and removes ${name} and its container. Its lifecycle log is kept.`;
    dlg.returnValue = '';
    dlg.showModal();
    await new Promise((r) => dlg.addEventListener('close', r, { once: true }));
    if (dlg.returnValue !== 'delete') return;
  }
  const path = `/console/api/instances/${encodeURIComponent(name)}`;
  toast(`${action} ${name}…`);
  acting = true;
  for (const b of $('instance').querySelectorAll('button')) b.disabled = true;
  const res = await (action === 'delete' ? call('DELETE', path) : call('POST', `${path}/${action}`)).finally(() => { acting = false; });
  if (!res.ok) { toast(`${action} ${name} refused: ${await problem(res)}`); void reloadDetail(); return; }
  toast(`${action} ${name}: done`);
  if (action === 'delete') location.hash = '#/';
  else void reloadDetail();
}

function route(): void {
  if (!csrf) return;
  const h = location.hash;
  if (h.startsWith('#/i/')) {
    show('instance');
    // Another instance's page: nothing of the one before stays on screen or takes actions.
    if (detail && detail.row.name !== openInstance(h)) { detail = null; $('instance').replaceChildren(); }
    void reloadDetail();
  } else if (h === '#/fleet') {
    show('fleet');
    if (fleet) $('fleet').innerHTML = fleetHtml(fleet);
  } else {
    show('list');
    schedule();
  }
}

function connect(): void {
  stream?.close();
  const es = new EventSource('/console/api/stream');
  stream = es;
  const live = $('live');
  es.onopen = () => { live.textContent = 'live'; live.className = 'live on'; };
  es.onerror = () => {
    live.textContent = 'reconnecting…'; live.className = 'live off';
    // A closed stream (401 after logout or expiry) does not retry by itself: ask who we are.
    if (es.readyState === EventSource.CLOSED) void boot();
  };
  es.addEventListener('snapshot', (e) => {
    const d = JSON.parse((e as MessageEvent<string>).data) as { rows: ConsoleRow[]; now: number };
    skew = d.now - Date.now();
    rows.clear();
    for (const r of d.rows) rows.set(r.name, r);
    schedule();
  });
  es.addEventListener('rows', (e) => {
    const d = JSON.parse((e as MessageEvent<string>).data) as { changed: ConsoleRow[]; removed: string[] };
    for (const r of d.changed) rows.set(r.name, r);
    for (const n of d.removed) rows.delete(n);
    schedule();
    const open = openInstance(location.hash);
    if (open !== null && (d.changed.some((r) => r.name === open) || d.removed.includes(open))) void reloadDetail();
  });
  es.addEventListener('event', (e) => {
    const d = JSON.parse((e as MessageEvent<string>).data) as { instance: string };
    if (openInstance(location.hash) === d.instance) void reloadDetail();
  });
  es.addEventListener('fleet', (e) => {
    fleet = JSON.parse((e as MessageEvent<string>).data) as FleetView;
    if (location.hash === '#/fleet') $('fleet').innerHTML = fleetHtml(fleet);
  });
  es.addEventListener('bye', () => es.close());
}

function signedOut(): void {
  csrf = '';
  stream?.close();
  stream = null;
  $('who').textContent = '';
  show('login');
  $('username').focus();
}

async function boot(): Promise<void> {
  const res = await call('GET', '/console/api/me').catch(() => null);
  if (!res || !res.ok) return signedOut();
  const me = (await res.json()) as { user: string; csrf: string };
  csrf = me.csrf;
  $('who').textContent = `signed in as ${me.user}`;
  connect();
  route();
}

function wire(): void {
  wireTable(now);
  $('instance').addEventListener('click', (e) => {
    const a = (e.target as HTMLElement).closest('button')?.dataset.action;
    if (a) void act(a);
  });
  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    void (async () => {
      const res = await call('POST', '/console/api/login', { username: f.get('username'), password: f.get('password') });
      if (!res.ok) { $('login-error').textContent = res.status === 401 ? 'Wrong username or password.' : await problem(res); return; }
      $('login-error').textContent = '';
      $<HTMLInputElement>('password').value = '';
      await boot();
      $('main').focus();
    })();
  });
  $('logout').addEventListener('click', () => { void call('POST', '/console/api/logout').finally(signedOut); });
  addEventListener('hashchange', route);
  setInterval(tickClock, 1000);
}

wire();
void boot();
