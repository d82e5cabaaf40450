import { describe, expect, it } from 'vitest';
import { DurationError, formatMs, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['+0', 0],
    ['0s', 0],
    ['300ms', 300],
    ['30s', 30_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1m30s500ms', 90_500],
    ['1.5s', 1_500],
    ['.5s', 500],
    ['1.s', 1_000],
    ['2000us', 2],
    ['2000µs', 2],
    ['1000000ns', 1],
    [' 2s ', 2_000],
  ])('%j -> %d ms', (text, ms) => {
    expect(parseDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each(['', ' ', '5', '1.5', 's', 'abc', '1d', '10 s', '-1s', '1s-', '1h 30m', '.s', '1e3s', 'ms'])(
    'rejects %j with a message naming the value and the form',
    (text) => {
      expect(() => parseDuration(text)).toThrow(DurationError);
      expect(() => parseDuration(text)).toThrow(JSON.stringify(text));
      expect(() => parseDuration(text)).toThrow(/Go duration such as 300ms/);
    },
  );
});

describe('formatMs', () => {
  it('prints whole seconds as s and the rest as ms', () => {
    expect(formatMs(60_000)).toBe('60s');
    expect(formatMs(0)).toBe('0s');
    expect(formatMs(1_500)).toBe('1500ms');
  });
});
