/**
 * The console's HTML shell and stylesheet. No inline script or style (the CSP forbids both): the
 * page loads /console/assets/main.js, which renders everything else.
 */
export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Spawner console</title>
<link rel="stylesheet" href="/console/assets/console.css">
<link rel="icon" href="/console/assets/icon.svg">
<script type="module" src="/console/assets/main.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
  <h1>Spawner console</h1>
  <nav aria-label="Views" id="nav" hidden><a href="#/">Instances</a> <a href="#/fleet">Fleet</a></nav>
  <span id="live" class="live" role="status" aria-live="polite"></span>
  <span id="who"></span>
  <button id="logout" type="button" hidden>Sign out</button>
</header>
<main id="main" tabindex="-1">
  <p id="booting">Loading…</p>
  <section id="login" hidden aria-labelledby="login-h">
    <h2 id="login-h">Sign in</h2>
    <form id="login-form">
      <label for="username">Username</label>
      <input id="username" name="username" autocomplete="username" required maxlength="128">
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024">
      <button type="submit">Sign in</button>
      <p id="login-error" class="error" role="alert"></p>
    </form>
  </section>
  <section id="list" hidden aria-labelledby="list-h">
    <h2 id="list-h">Instances <span id="count" class="muted"></span></h2>
    <div class="toolbar">
      <label for="filter">Filter</label>
      <input id="filter" type="search" placeholder="name, state, label, image…" autocomplete="off">
      <label for="state-filter">State</label>
      <select id="state-filter"><option value="">all</option></select>
    </div>
    <div class="scroll">
      <table id="table">
        <caption class="sr-only">Instances; column headers sort the table</caption>
        <thead><tr id="head"></tr></thead>
        <tbody id="rows"></tbody>
      </table>
    </div>
    <p><button id="more" type="button" hidden></button></p>
  </section>
  <section id="instance" hidden aria-labelledby="instance-h"></section>
  <section id="fleet" hidden aria-labelledby="fleet-h"></section>
</main>
<dialog id="confirm" aria-labelledby="confirm-h">
  <form method="dialog">
    <h2 id="confirm-h">Delete instance?</h2>
    <p id="confirm-text"></p>
    <div class="actions"><button value="cancel" autofocus>Cancel</button> <button value="delete" class="danger" id="confirm-delete">Delete</button></div>
  </form>
</dialog>
<div id="toast" role="status" aria-live="polite"></div>
</body>
</html>
`;

export const CONSOLE_CSS = `
:root { --fg: #1b1f24; --muted: #57606a; --bg: #fff; --line: #d0d7de; --accent: #0550ae; --ok: #116329; --off: #57606a; --bad: #a40e26; --warn: #7d4e00; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
body { margin: 0; }
header { display: flex; gap: 1rem; align-items: center; padding: .5rem 1rem; border-bottom: 1px solid var(--line); background: #f6f8fa; flex-wrap: wrap; }
header h1 { font-size: 1.1rem; margin: 0; }
nav a { margin-right: .75rem; }
a { color: var(--accent); }
main { padding: .75rem 1rem 2rem; max-width: 1400px; }
h2 { font-size: 1.05rem; margin: .5rem 0; }
h3 { font-size: .95rem; margin: 1rem 0 .4rem; }
:focus-visible { outline: 3px solid #0969da; outline-offset: 1px; }
.skip { position: absolute; left: -9999px; } .skip:focus { left: 1rem; top: .5rem; background: #fff; padding: .25rem; z-index: 9; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
.muted { color: var(--muted); font-weight: normal; }
.live { font-size: .85rem; color: var(--muted); }
.live.on::before { content: "● "; color: var(--ok); }
.live.off::before { content: "● "; color: var(--bad); }
#who { margin-left: auto; color: var(--muted); }
form#login-form { display: grid; gap: .35rem; max-width: 20rem; }
input, select, button { font: inherit; padding: .3rem .5rem; border: 1px solid #8c959f; border-radius: 4px; background: #fff; color: var(--fg); }
button { cursor: pointer; background: #f6f8fa; }
button.danger { color: #fff; background: var(--bad); border-color: var(--bad); }
button:disabled { opacity: .6; cursor: default; }
.error { color: var(--bad); min-height: 1.2em; }
.toolbar { display: flex; gap: .5rem; align-items: center; margin: .4rem 0 .6rem; flex-wrap: wrap; }
.toolbar input { min-width: 18rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); white-space: nowrap; vertical-align: top; }
/* Fixed layout: the browser sizes columns from the header, not by measuring 1,000 rows (300 ms). */
#table { table-layout: fixed; min-width: 1100px; }
#table td, #table tbody th { overflow: hidden; text-overflow: ellipsis; }
.c-name { width: 13rem; } .c-state, .c-health, .c-revision { width: 6.5rem; } .c-routing { width: 5.5rem; }
.c-idleTimeoutSec, .c-idleDueAt { width: 7.5rem; } .c-lastRequestAt { width: 8.5rem; } .c-wakes { width: 5rem; } .c-lastWakeMs { width: 6.5rem; }
thead th { position: sticky; top: 0; background: #f6f8fa; }
thead th button { border: 0; background: none; padding: 0; font-weight: 600; color: var(--fg); }
thead th[aria-sort="ascending"] button::after { content: " ▲"; }
thead th[aria-sort="descending"] button::after { content: " ▼"; }
tbody th { font-weight: 600; }
td.num, th.num { text-align: right; }
tbody tr:hover { background: #f6f8fa; }
.state { font-weight: 600; }
.state.ok { color: var(--ok); } .state.off { color: var(--off); } .state.bad { color: var(--bad); } .state.warn { color: var(--warn); }
.chip { display: inline-block; padding: 0 .35rem; border: 1px solid var(--line); border-radius: 3px; font-size: .85rem; color: var(--muted); }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: .25rem 0; }
.facts dt { color: var(--muted); } .facts dd { margin: 0; }
.actions { display: flex; gap: .5rem; margin: .5rem 0; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 0 2rem; }
.chart { max-width: 100%; height: auto; font-size: 11px; fill: var(--fg); }
.chart .bar { fill: #0969da; }
.ph-start { fill: #0969da; background: #0969da; } .ph-health { fill: #1a7f37; background: #1a7f37; }
.ph-route { fill: #9a6700; background: #9a6700; } .ph-probe { fill: #8250df; background: #8250df; }
.st-running { fill: #1a7f37; background: #1a7f37; } .st-exited { fill: #6e7781; background: #6e7781; }
.st-gone { fill: #cf222e; background: #cf222e; } .st-created, .st-creating, .st-restarting, .st-paused, .st-dead { fill: #9a6700; background: #9a6700; }
.legend .key { display: inline-block; color: #fff; padding: 0 .4rem; border-radius: 3px; font-size: .8rem; margin-right: .25rem; }
.log { font-family: ui-monospace, monospace; font-size: .85rem; }
.log td { white-space: normal; }
.gauge { font-size: 1.4rem; font-weight: 600; }
dialog { border: 1px solid var(--line); border-radius: 6px; padding: 1rem 1.25rem; }
dialog::backdrop { background: rgba(0,0,0,.35); }
#toast { position: fixed; bottom: 1rem; right: 1rem; max-width: 28rem; }
#toast:not(:empty) { background: #24292f; color: #fff; padding: .5rem .75rem; border-radius: 4px; }
@media (prefers-reduced-motion: no-preference) { tbody tr { transition: background .3s; } }
`;

export const CONSOLE_ICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0550ae"/><path d="M4 11l4-6 4 6z" fill="#fff"/></svg>';
