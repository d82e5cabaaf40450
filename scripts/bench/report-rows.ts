/** Row helpers shared by the bench's markdown renderers. */
import type { Dist } from './stats.js';

export const fmt = (v: number | undefined, unit: string) => (typeof v === 'number' && Number.isFinite(v) ? `${v} ${unit}` : '—');
export const mark = (pass: boolean | undefined) => (pass === undefined ? '' : pass ? '✅ pass' : '❌ miss');

export type Row = [string, string, string, string, string, string, string, string];

export function distRow(sec: string, what: string, d: Dist | undefined, note = '', target = '', pass?: boolean): Row {
  return [sec, what, d ? String(d.n) : '—', fmt(d?.p50, d?.unit ?? ''), fmt(d?.p95, d?.unit ?? ''), note, target, mark(pass)];
}

export function valueRow(sec: string, what: string, n: number | string, value: string, note = '', target = '', pass?: boolean): Row {
  return [sec, what, String(n), value, '', note, target, mark(pass)];
}

