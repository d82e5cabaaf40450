/**
 * The waiting page: self-contained (inline CSS/JS, no external assets), accessible (lang, a live
 * region, a real heading), works without JavaScript through a <noscript> meta refresh, and with
 * JavaScript follows the wake over Server-Sent Events and navigates the moment it is ready.
 */
export const STREAM_PATH = '/.spawner/wake-stream';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

export function waitingPage(target: string, refreshSec: number): string {
  const t = escapeHtml(target);
  // JSON.stringify + escaping "<" keeps the target inert inside the script block.
  const js = JSON.stringify(target).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Starting your app…</title>
<noscript><meta http-equiv="refresh" content="${refreshSec};url=${t}"></noscript>
<style>
body{font-family:system-ui,sans-serif;display:grid;place-items:center;min-height:100vh;margin:0;background:#f6f7f9;color:#1d2330}
main{max-width:28rem;padding:2rem;text-align:center}
.spin{width:2.5rem;height:2.5rem;margin:1rem auto;border:4px solid #c9d1e0;border-top-color:#2b59c3;border-radius:50%;animation:s 1s linear infinite}
@keyframes s{to{transform:rotate(360deg)}}
@media (prefers-reduced-motion:reduce){.spin{animation:none}}
</style>
</head>
<body>
<main>
<h1>Starting your app…</h1>
<div class="spin" aria-hidden="true"></div>
<p id="status" role="status" aria-live="polite">Your app was asleep. It is waking up; this page moves on by itself.</p>
<p><a href="${t}">Continue</a></p>
</main>
<script>
(function(){
  var target=${js};
  var status=document.getElementById('status');
  var go=function(){location.replace(target);};
  if(!window.EventSource){setTimeout(go,${refreshSec * 1000});return;}
  var es=new EventSource(${JSON.stringify(STREAM_PATH)});
  es.addEventListener('ready',function(){es.close();go();});
  es.addEventListener('failed',function(e){es.close();status.textContent='Your app could not be started: '+(e.data||'unknown error')+'. Retrying…';setTimeout(go,3000);});
  es.onerror=function(){es.close();setTimeout(go,500);};
})();
</script>
</body>
</html>
`;
}

/** `retry` must be a same-origin path (safeTarget); it is escaped here. */
export function errorPage(title: string, detail: string, retry = '/'): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body><main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(detail)}</p><p><a href="${escapeHtml(retry)}">Try again</a></p></main></body></html>
`;
}
