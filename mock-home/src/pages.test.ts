import { describe, expect, it } from 'vitest';
import { NAME_PATTERN_HTML, NAME_RE, nameProblem } from './names.js';
import { escapeHtml, instancePage } from './pages.js';

describe('escapeHtml', () => {
  it('escapes the five HTML-significant characters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
    expect(escapeHtml(42)).toBe('42');
  });

  it('is applied to every interpolated value', () => {
    const html = instancePage({ name: '<i>n</i>', state: '"s"', note: '<b>' });
    expect(html).not.toMatch(/<i>|<b>/);
    expect(html).toContain('&lt;i&gt;n&lt;/i&gt;');
  });
});

describe('names', () => {
  it.each(['a', 'a1', 'my-app', 'x'.repeat(63)])('accepts %j', (n) => {
    expect(nameProblem(n)).toBeUndefined();
  });

  it.each([
    ['', /pick a name/],
    ['x'.repeat(64), /64 characters/],
    ['Alice', /lowercase/],
    ['-a', /not allowed/],
    ['a-', /not allowed/],
    ['a_b', /not allowed/],
  ])('rejects %j', (n, why) => {
    expect(nameProblem(n)).toMatch(why);
  });

  it('the HTML pattern (compiled with the v flag, as browsers do) agrees with NAME_RE', () => {
    const html = new RegExp(`^(?:${NAME_PATTERN_HTML})$`, 'v');
    for (const n of ['a', 'my-app', '-a', 'a-', 'A', 'a_b', 'x'.repeat(63), 'x'.repeat(64)]) {
      expect(html.test(n), n).toBe(NAME_RE.test(n));
    }
  });
});
