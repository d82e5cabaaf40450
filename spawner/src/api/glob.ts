/**
 * Tiny glob for the image allowlist (cfg.allowedImages), chosen to read like Docker references:
 * - `*`  matches any run of characters except `/` (stays inside one path segment, so
 *        `mock-app:*` allows every tag of `mock-app` but `library/*` does not reach `library/a/b`);
 * - `**` matches anything, `/` included (`registry.example.com/team/**`);
 * - every other character is literal (no `?`, no classes, no braces): a pattern means what it
 *   says, and an image name can never smuggle in pattern syntax because only the pattern is parsed.
 * Matching is anchored at both ends and case-sensitive, like image references.
 */
/** Patterns come from config, so this cache is bounded by the allowlist's size. */
const cache = new Map<string, RegExp>();

function compile(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        re += '.*';
        while (pattern[i + 1] === '*') i++; // `***` is just `**`
      } else {
        re += '[^/]*';
      }
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`, 's');
}

export function globMatch(pattern: string, value: string): boolean {
  let re = cache.get(pattern);
  if (!re) {
    re = compile(pattern);
    cache.set(pattern, re);
  }
  return re.test(value);
}
