/**
 * The redirect target is always a same-origin path built from the request line: never from Host,
 * X-Forwarded-Host or a query parameter. Leading slashes and backslashes collapse to one slash,
 * so `//evil.com` or `/\evil.com` become a path on this host, not a scheme-relative URL.
 */
export function safeTarget(rawUrl: string): string {
  let url = rawUrl;
  // absolute-form request targets (GET http://x/y HTTP/1.1): keep only path and query
  if (!url.startsWith('/')) {
    try {
      const u = new URL(url);
      url = `${u.pathname}${u.search}`;
    } catch {
      return '/';
    }
  }
  // browsers drop tabs/newlines inside URLs and treat "\" as "/": neutralise both
  url = url.replace(/[\u0000-\u0020\u007f]/g, '');
  url = url.replace(/^[/\\]+/, '/');
  return url.startsWith('/') ? url : '/';
}

export function isBrowserNavigation(method: string, accept: string | undefined): boolean {
  return method === 'GET' && (accept ?? '').includes('text/html');
}

export function isPrefetch(headers: Record<string, string | string[] | undefined>): boolean {
  const v = [headers['sec-purpose'], headers['purpose'], headers['x-moz'], headers['x-purpose']]
    .flat()
    .filter((x): x is string => typeof x === 'string')
    .join(',')
    .toLowerCase();
  return v.includes('prefetch') || v.includes('prerender') || v.includes('preview');
}
