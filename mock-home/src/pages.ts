/**
 * Server-rendered pages: self-contained (inline CSS, no scripts, no external assets). Every
 * interpolated value goes through escapeHtml; spawner messages are untrusted input here.
 */
import { NAME_PATTERN_HTML, NAME_RULE } from './names.js';
import type { RuntimeOption } from './spawner-client.js';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Safe for element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const CSS = `body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#fafafa}
main{max-width:32rem;margin:3rem auto;padding:0 1rem}
label{display:block;font-weight:600}
input{font:inherit;padding:.4rem;width:100%;box-sizing:border-box}
button,.button{font:inherit;padding:.4rem 1rem;margin-top:.75rem;display:inline-block}
.hint{color:#555;font-size:.9rem}.error{color:#a00000}
code{background:#eee;padding:0 .25rem}`;

/** title is plain text; body is already-escaped HTML. */
function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>
`;
}

export interface SignupView {
  homePath: string;
  /** What the visitor typed, re-shown after a validation error. */
  name?: string;
  error?: string;
  /** Informational line above the form (not an error in the input). */
  notice?: string;
  /** Images to choose from (the spawner's catalogue); no choice is shown for fewer than two. */
  runtimes?: RuntimeOption[];
  /** The preselected image. */
  runtime?: string;
}

function runtimeLabel(r: RuntimeOption): string {
  const name = r.title ? `${r.title}${r.version ? ` ${r.version}` : ''} (${r.reference})` : r.reference;
  return r.present ? name : `${name}, downloaded first`;
}

function runtimeChoice(v: SignupView): string {
  const list = v.runtimes ?? [];
  if (list.length < 2) return '';
  const options = list.map((r) => `<option value="${escapeHtml(r.reference)}"${r.reference === v.runtime ? ' selected' : ''}>${escapeHtml(runtimeLabel(r))}</option>`);
  return `<label for="runtime">Runtime</label>
<select id="runtime" name="runtime">
${options.join('\n')}
</select>
`;
}

export function signupPage(v: SignupView): string {
  const describedBy = v.error ? 'name-hint name-error' : 'name-hint';
  const error = v.error ? `<p id="name-error" class="error" role="alert">${escapeHtml(v.error)}</p>\n` : '';
  const notice = v.notice ? `<p role="status">${escapeHtml(v.notice)}</p>\n` : '';
  return layout(
    'Get your own app',
    `${notice}<form method="post" action="${escapeHtml(v.homePath)}/signup">
<label for="name">Pick a name</label>
<p id="name-hint" class="hint">${escapeHtml(NAME_RULE)}</p>
${error}<input id="name" name="name" type="text" required maxlength="63"
 pattern="${escapeHtml(NAME_PATTERN_HTML)}" autocomplete="off" autocapitalize="none" spellcheck="false"
 aria-describedby="${describedBy}"${v.error ? ' aria-invalid="true"' : ''} value="${escapeHtml(v.name ?? '')}">
${runtimeChoice(v)}<button type="submit">Create my app</button>
</form>`,
  );
}

export interface InstanceView {
  name: string;
  /** Container state from the spawner, or a human explanation when it could not be read. */
  state: string;
  /** Extra line, e.g. that the routing cookie is missing in this browser. */
  note?: string;
}

export function instancePage(v: InstanceView): string {
  const note = v.note ? `<p class="hint">${escapeHtml(v.note)}</p>\n` : '';
  return layout(
    'Your app',
    `<dl>
<dt>Name</dt><dd>${escapeHtml(v.name)}</dd>
<dt>State</dt><dd>${escapeHtml(v.state)}</dd>
</dl>
${note}<p><a class="button" href="/">Open my app</a></p>`,
  );
}

export interface ErrorView {
  homePath: string;
  title: string;
  message: string;
  /** From the spawner's problem+json; shown verbatim (escaped) so users can report it. */
  detail?: string;
  code?: string;
}

export function errorPage(v: ErrorView): string {
  const detail = v.detail ? `<p>The spawner said: <q>${escapeHtml(v.detail)}</q></p>\n` : '';
  const code = v.code ? `<p class="hint">Error code: <code>${escapeHtml(v.code)}</code></p>\n` : '';
  return layout(
    v.title,
    `<p role="alert">${escapeHtml(v.message)}</p>
${detail}${code}<p><a href="${escapeHtml(v.homePath)}">Back to home</a></p>`,
  );
}
