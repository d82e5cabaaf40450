import { describe, expect, it } from 'vitest';
import { isBrowserNavigation, isPrefetch, safeTarget } from './target.js';

/** Same-origin path: exactly one leading `/`, never followed by `/` or `\`. */
function assertSamePath(t: string) {
  expect(t.startsWith('/')).toBe(true);
  expect(t[1]).not.toBe('/');
  expect(t[1]).not.toBe('\\');
  expect(/[\u0000-\u0020\u007f]/.test(t)).toBe(false);
  // What a browser would make of it, relative to our origin, stays on our origin.
  expect(new URL(t, 'https://spawner.example').origin).toBe('https://spawner.example');
}

describe('safeTarget: open-redirect table', () => {
  it.each([
    ['//evil.com', '/evil.com'],
    ['//evil.com/x?y=1', '/evil.com/x?y=1'],
    ['/\\evil.com', '/evil.com'],
    ['\\\\evil.com', '/'], // not a path and not a URL: home of this origin
    ['/\\/evil.com', '/evil.com'],
    ['///evil.com', '/evil.com'],
    ['////\\\\evil.com', '/evil.com'],
    ['/\t/evil.com', '/evil.com'],
    ['/\n/evil.com', '/evil.com'],
    ['/\r\n/evil.com', '/evil.com'],
    [' //evil.com', '/'],
    ['https://evil.com', '/'],
    ['http://evil.com/x', '/x'],
    ['http://evil.com/x?a=1&b=2', '/x?a=1&b=2'],
    ['http://evil.com//other.com/x', '/other.com/x'],
    ['/%2F%2Fevil.com', '/%2F%2Fevil.com'],
    ['/%5Cevil.com', '/%5Cevil.com'],
    ['javascript:alert(1)', '/'],
    ['evil.com', '/'],
    ['', '/'],
    ['/a/b?c=1', '/a/b?c=1'],
    ['/', '/'],
    ['/app/minion-1/x?y=%20z#frag', '/app/minion-1/x?y=%20z#frag'],
  ])('%j → %j', (raw, expected) => {
    const t = safeTarget(raw);
    expect(t).toBe(expected);
    assertSamePath(t);
  });

  it('keeps an ordinary path and query byte for byte', () => {
    const raw = '/a/b/c.html?x=1&y=%2F&z=%E2%9C%93';
    expect(safeTarget(raw)).toBe(raw);
  });
});

describe('isBrowserNavigation', () => {
  it.each([
    ['GET', 'text/html,application/xhtml+xml,*/*;q=0.8', true],
    ['GET', '*/*', false],
    ['GET', undefined, false],
    ['GET', 'application/json', false],
    ['POST', 'text/html', false],
    ['HEAD', 'text/html', false],
  ])('%s %s → %s', (method, accept, expected) => {
    expect(isBrowserNavigation(method, accept)).toBe(expected);
  });
});

describe('isPrefetch', () => {
  it.each([
    [{ 'sec-purpose': 'prefetch' }, true],
    [{ 'sec-purpose': 'prefetch;prerender' }, true],
    [{ purpose: 'prefetch' }, true],
    [{ 'x-moz': 'prefetch' }, true],
    [{ 'x-purpose': 'preview' }, true],
    [{ 'sec-purpose': 'Prefetch' }, true],
    [{}, false],
    [{ 'sec-purpose': 'something-else' }, false],
    [{ accept: 'text/html' }, false],
  ])('%j → %s', (headers, expected) => {
    expect(isPrefetch(headers)).toBe(expected);
  });
});
