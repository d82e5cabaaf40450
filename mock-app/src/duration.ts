/**
 * Go-style duration parsing ("300ms", "30s", "2m", "1h30m", "1.5h", "0"), so the mock app takes
 * the same IDLE / STARTUP_DELAY / STATUS_DELAY values as the original Go tooling. Pure: no env,
 * no logging; the caller decides what a bad value means.
 */

/** Milliseconds per unit. Go accepts both micro signs (U+00B5 and U+03BC). */
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

/** One "<number><unit>" piece; the whole string must be a sequence of these. */
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

export const DURATION_FORM = 'a Go duration such as 300ms, 30s, 2m or 1h30m (0 disables)';

export class DurationError extends Error {
  constructor(readonly value: string) {
    super(`invalid duration ${JSON.stringify(value)}: expected ${DURATION_FORM}`);
    this.name = 'DurationError';
  }
}

/**
 * Parses a non-negative Go duration into milliseconds (possibly fractional for ns/us).
 * Negative durations are rejected: every use here is a timeout or a delay.
 */
export function parseDuration(text: string): number {
  const s = text.trim();
  // Go special-cases a bare "0" (no unit); any other unitless number is an error.
  if (s === '0' || s === '+0') return 0;
  const rest = s.startsWith('+') ? s.slice(1) : s;
  if (rest === '') throw new DurationError(text);
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < rest.length) {
    const start = PART.lastIndex;
    const m = PART.exec(rest);
    if (!m || m.index !== start) throw new DurationError(text);
    const [, num = '', unit = ''] = m;
    const factor = UNIT_MS[unit];
    if (factor === undefined) throw new DurationError(text);
    total += Number(num) * factor;
  }
  if (!Number.isFinite(total)) throw new DurationError(text);
  return total;
}

/** Short human form for logs: whole seconds as "30s", anything else in milliseconds. */
export function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
