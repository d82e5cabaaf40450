/** `spawner status <name>`: an instance's status (GET /deploy/:name's `stats`) as readable lines. */
interface Stats {
  asOf?: string | null;
  requests?: number;
  responses?: Record<string, number>;
  lastRequestAt?: string | null;
  startedAt?: string | null;
  uptimeSec?: number | null;
  wakes?: { count?: number; failed?: number; lastAt?: string | null; lastMs?: number | null; medianMs?: number | null };
}

export function duration(sec: number): string {
  const d = Math.floor(sec / 86_400), h = Math.floor((sec % 86_400) / 3600), m = Math.floor((sec % 3600) / 60), s = sec % 60;
  const parts = d ? [`${d}d`, `${h}h`] : h ? [`${h}h`, `${m}m`] : m ? [`${m}m`, `${s}s`] : [`${s}s`];
  return parts.join(' ');
}

const ms = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${Math.round(v)} ms`);

export function statusText(i: Record<string, unknown>): string {
  const st = (i.stats ?? {}) as Stats;
  const r = st.responses ?? {};
  const classes = ['2xx', '3xx', '4xx', '5xx'].map((c) => `${c} ${r[c] ?? 0}`);
  if (r['1xx']) classes.unshift(`1xx ${r['1xx']}`);
  if (r.other) classes.push(`other ${r.other}`);
  const w = st.wakes ?? {};
  const up = st.uptimeSec === null || st.uptimeSec === undefined ? '-' : `${duration(st.uptimeSec)} (since ${st.startedAt ?? '?'})`;
  const rows: [string, string][] = [
    ['name', String(i.name ?? '')],
    ['status', `${String(i.status ?? '')}${i.health && i.health !== 'none' ? ` (${String(i.health)})` : ''}`],
    ['uptime', up],
    ['requests', `${st.requests ?? 0} (${classes.join(', ')})`],
    ['last request', `${st.lastRequestAt ?? '-'}${st.asOf ? ` (counted until ${st.asOf})` : ''}`],
    ['wakes', `${w.count ?? 0}${w.failed ? ` (${w.failed} failed)` : ''}, last ${ms(w.lastMs)}${w.lastAt ? ` at ${w.lastAt}` : ''}, median ${ms(w.medianMs)}`],
  ];
  return rows.map(([k, v]) => `${`${k}:`.padEnd(14)}${v}`).join('\n');
}
