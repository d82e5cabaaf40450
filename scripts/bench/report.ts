/** Turns the bench's JSON into the markdown table (stdout and bench-results/latest.md). */
import type { BenchResult } from './result.js';
import { distRow, fmt, mark, valueRow, type Row } from './report-rows.js';
import { fleetRows } from './report-fleet.js';

export function renderMarkdown(r: BenchResult): string {
  const m = r.machine;
  const s = r.sections;
  const t = (id: string) => r.targets.find((x) => x.id === id);
  const rows: Row[] = [];
  const tgt = (id: string): [string, boolean | undefined] => [t(id)?.target ?? '', t(id)?.pass];
  const variants = ['nohc', 'hc', 'nohcCpus2'] as const;
  const cpus = (v: (typeof variants)[number]) => `, ${s.coldWake?.[v]?.cpus ?? '?'} CPU`;
  for (const v of variants) {
    const w = s.coldWake?.[v];
    if (!w) continue;
    const label = v === 'hc' ? `${w.image} (HEALTHCHECK 2 s${cpus(v)})` : `${w.image} (no HEALTHCHECK${cpus(v)})`;
    rows.push(distRow('1 floor', `${label}: docker start → app's first 200`, w.floor.toApp200, 'probe of container IP every 5 ms'));
    rows.push(distRow('1 floor', `${label}: docker start → route in Traefik's API`, w.floor.toRoute, 'router + server at the new IP, polled every 10 ms'));
    if (w.floor.toHealthy) rows.push(distRow('1 floor', `${label}: docker start → Docker \`healthy\``, w.floor.toHealthy, 'from Docker health_status event'));
  }
  for (const v of variants) {
    const w = s.coldWake?.[v];
    if (!w) continue;
    const label = v === 'hc' ? `${w.image} (HC${cpus(v)})` : `${w.image} (no HC${cpus(v)})`;
    const [tt, tp] = v === 'nohc' ? tgt('coldWakeNoHc') : ['', undefined];
    rows.push(distRow('2 cold wake', `${label}: first request → app's 200 (through Traefik, following 307)`, w.wake.total, `errors ${w.wake.errors}`, tt, tp));
    for (const k of ['start', 'health', 'route', 'probe', 'total'] as const) {
      rows.push(distRow('2 cold wake', `${label}: Server-Timing \`${k}\``, w.wake.phases[k], k === 'health' ? (v === 'hc' ? 'waits for Docker healthy' : 'TCP probe') : ''));
    }
    const [ot, op] = tgt(v === 'nohc' ? 'overheadNoHc' : 'overheadHcVsHealthy');
    rows.push(valueRow('2 cold wake', `${label}: overhead = wake − floor(app 200), median of pairs`, w.overhead.vsApp200.n, fmt(w.overhead.vsApp200.p50, 'ms'), v === 'hc' ? 'dominated by Docker health interval' : '', v === 'nohc' ? ot : '', v === 'nohc' ? op : undefined));
    rows.push(valueRow('2 cold wake', `${label}: overhead = wake − floor(reachable through Traefik = max(app 200${w.overhead.vsHealthy ? ', healthy' : ''}, route)), median of pairs`, w.overhead.vsReachable.n, fmt(w.overhead.vsReachable.p50, 'ms'), 'the wake cannot redirect before Traefik routes'));
    if (w.overhead.vsHealthy) {
      rows.push(valueRow('2 cold wake', `${label}: overhead = wake − floor(healthy), median of pairs`, w.overhead.vsHealthy.n, fmt(w.overhead.vsHealthy.p50, 'ms'), '', ot, op));
    }
  }
  for (const b of s.browser ?? []) {
    rows.push(distRow('3 browser', `${b.image}: page.goto → app page \`load\``, b.toAppLoaded, `waiting page seen ${b.sawWaitingPage}/${b.toAppLoaded.n + b.errors}, errors ${b.errors}`));
    rows.push(distRow('3 browser', `${b.image}: page.goto → waiting page \`load\``, b.toWaitingPage));
    rows.push(distRow('3 browser', `${b.image}: page.goto → waiting page navigates to the app (stream said \`ready\`)`, b.toWakeReady));
    rows.push(distRow('3 browser', `${b.image}: page.goto → app's response headers`, b.toAppResponse));
    rows.push(distRow('3 browser', `${b.image}: the same wakes, spawner-side \`total\` (its event log)`, b.serverWakeTotal));
  }
  if (s.storm) {
    const st = s.storm;
    const [tt, tp] = tgt('storm');
    rows.push(valueRow('4 storm', `${st.clients} concurrent clients, one stopped instance: container starts`, st.clients, `${st.starts} starts`, `errors ${st.errors}; first answers ${JSON.stringify(st.firstStatus)}`, tt, tp));
    rows.push(distRow('4 storm', 'time to the app\'s 200', st.toApp200, `wall ${st.wallMs} ms`));
  }
  if (s.fanout) {
    const f = s.fanout;
    rows.push(distRow('5 fan-out', `${f.instances} stopped instances at once: time to app's 200`, f.toApp200, `wall ${f.wallMs} ms`));
    rows.push(valueRow('5 fan-out', 'first-try 503 (+Retry-After) / final success / errors', f.instances, `${f.firstTry503} / ${f.finalSuccess} / ${f.errors}`, `${f.retries503Total} retries honoured; first answers ${JSON.stringify(f.firstStatus)}`));
    rows.push(valueRow('5 fan-out', 'container starts (Docker events)', f.instances, `${f.starts} starts`, `${f.instancesWithOneStart}/${f.instances} instances started exactly once`));
  }
  if (s.deploy) {
    const d = s.deploy;
    rows.push(distRow('6 deploy', `POST /deploy one after another (${d.image})`, d.sequential.perDeploy, `wall ${d.sequential.wallMs} ms`));
    rows.push(distRow('6 deploy', `POST /deploy ${d.parallel.concurrency} at a time`, d.parallel.perDeploy, `wall ${d.parallel.wallMs} ms, ${d.parallel.deploysPerSec} deploys/s`));
    rows.push(distRow('6 deploy', 'POST /deploy/:name/stop (returns when Traefik dropped the route)', d.stopAfter.perStop));
    if (d.getDeployAt10) rows.push(distRow('6 deploy', `GET /deploy at ${d.getDeployAt10.instancesListed} instances`, d.getDeployAt10));
  }
  if (s.footprint) {
    const f = s.footprint;
    const [rt, rp] = tgt('rss');
    const [lt, lp] = tgt('getDeploy');
    rows.push(valueRow('7 footprint', 'spawner RSS idle (0 instances)', 1, fmt(f.idle.rssMiB, 'MiB'), `cgroup ${fmt(f.idle.cgroupMiB, 'MiB')}`));
    rows.push(valueRow('7 footprint', `registering instances (deploy + stop, ${f.registration.concurrency} in flight)`, f.registration.added, fmt(f.registration.wallSec, 's'), `per instance p50 ${fmt(f.registration.perInstanceDeployPlusStop.p50, 'ms')}, failures ${f.registration.failures}`));
    rows.push(valueRow('7 footprint', `spawner RSS with ${f.registration.registered} registered instances`, 1, fmt(f.withInstances.rssMiB, 'MiB'), `cgroup ${fmt(f.withInstances.cgroupMiB, 'MiB')}; after the GET /deploy runs ${fmt(f.afterList.rssMiB, 'MiB')}`, rt, rp));
    rows.push(distRow('7 footprint', `GET /deploy at ${f.getDeploy.instancesListed} instances`, f.getDeploy, '', lt, lp));
    rows.push(distRow('7 footprint', 'floor: Docker list (all, label filter) from the host', f.dockerListFloor));
    if (f.traefik) rows.push(valueRow('7 footprint', `Traefik on ${f.traefik.networks} networks (one per instance + control)`, 1, `${f.traefik.rssMiB} MiB RSS`, `cgroup ${f.traefik.cgroupMiB} MiB; CPU ${f.traefik.cpuPercentRightAfter} % of a core right after, ${f.traefik.cpuPercentAtRest} % at rest (${f.traefik.settleSec} s later)`));
  }
  if (s.hotPath) {
    const h = s.hotPath;
    rows.push(valueRow('8 hot path', `no cookie → 302 ${h.sample.location} (${h.tool}, ${h.connections} conns, ${h.durationSec} s)`, h.requests, `${h.requestsPerSec} req/s`, `p50 ${fmt(h.latencyMs.p50, 'ms')}, p99 ${fmt(h.latencyMs.p99, 'ms')}, errors ${h.errors}`));
  }
  if (s.proxied) {
    const p = s.proxied;
    for (const [k, label] of [['withMiddleware', 'instance router with the recovery errors middleware'], ['withoutMiddleware', 'twin router, same rule shape, no middleware']] as const) {
      const x = p.median[k];
      rows.push(valueRow('9 proxied', `GET / through Traefik to a running app: ${label} (${p.tool}, ${p.connections} conns, ${p.withMiddleware.length} × ${p.secondsPerRound} s)`, p[k].length, `${x.requestsPerSec} req/s`, `median of rounds; p50 ${fmt(x.p50, 'ms')}, p99 ${fmt(x.p99, 'ms')}, errors ${x.errors}`));
    }
    rows.push(valueRow('9 proxied', 'throughput ratio with / without the middleware', p.withMiddleware.length, String(p.throughputRatio), '1 = no cost'));
  }
  if (s.networks) {
    const nw = s.networks;
    rows.push(distRow('10 networks', 'docker network create (a /28, Engine API)', nw.create));
    rows.push(distRow('10 networks', 'connect both edge containers (Traefik, spawner) to it', nw.connectEdges));
    rows.push(distRow('10 networks', 'network create + both edge connects (what a deploy adds)', nw.createPlusConnect));
    rows.push(distRow('10 networks', 'edge disconnects + network remove (what a DELETE adds)', nw.remove));
    rows.push(distRow('10 networks', 'POST /deploy → router visible in Traefik\'s API (isolated instance)', nw.deployToRoute, 'polled every 10 ms'));
  }
  for (const v of ['nohc', 'hc'] as const) {
    const rd = s.redeploy?.[v];
    if (!rd) continue;
    const label = v === 'nohc' ? 'without HEALTHCHECK' : 'with HEALTHCHECK';
    rows.push(distRow('11 redeploy', `${label}: switch time, last answer by the old container → first by the new (start-first, under load)`, rd.switchGapMs, `${rd.images.join(' ↔ ')}; negative = overlap`));
    rows.push(distRow('11 redeploy', `${label}: POST /deploy/:name/revisions (gate + switch + drain)`, rd.redeployCallMs));
    rows.push(valueRow('11 redeploy', `${label}: requests during ${rd.switches} switches (4 clients, GET + POST)`, rd.requests, `${rd.errors} errors`, `${rd.posts} POSTs: ${rd.lost} lost, ${rd.replayed} replayed (app logs)`));
  }
  rows.push(...fleetRows(r, tgt));
  const header = ['section', 'measurement', 'N', 'p50 / value', 'p95', 'notes', 'target', 'result'];
  const table = [header, header.map(() => '---'), ...rows].map((cols) => `| ${cols.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`).join('\n');
  const machine = [
    `- mode: **${r.mode}**, run time ${r.runSeconds} s, ${r.startedAt}`,
    `- machine: ${m.nproc} CPU (${m.cpuModel}), ${m.memoryGiB} GiB RAM, kernel ${m.kernel}, ${m.os}, load average (1 min) at start ${m.loadAverage1m}, during the run mean ${r.loadAverageDuring.mean} / max ${r.loadAverageDuring.max} (${r.loadAverageDuring.samples} samples), ${m.docker.containersOnHost} containers on the host at start`,
    `- Docker ${m.docker.version} (API ${m.docker.apiVersion}, cgroup ${m.docker.cgroup}, ${m.docker.storageDriver}); Traefik ${m.traefik.version}, providersThrottleDuration=${m.traefik.providersThrottleDuration}; Node ${m.node}; ${r.tools.chromium}; ${r.tools.loadGenerator}`,
    `- spawner: ${r.setup.spawnerImage}, maxConcurrentStarts ${r.setup.maxConcurrentStarts}, probeThroughProxy ${r.setup.probeThroughProxy}, log level ${r.setup.logLevel}, env ${Object.entries(m.spawnerEnv ?? {}).map(([k, v]) => `${k}=${v}`).join(' ') || 'defaults'}; instances: ${r.setup.images.hc} (HEALTHCHECK interval 2 s) and ${r.setup.images.nohc} (HEALTHCHECK NONE → TCP probe), env IDLE=0`,
  ].join('\n');
  const targets = r.targets.map((x) => `- ${mark(x.pass)} ${x.description}: ${fmt(x.value, x.unit)} (target ${x.target})`).join('\n');
  const notes = r.explanations.map((e) => `- ${e}`).join('\n');
  const errors = Object.entries(r.errors).map(([k, v]) => `- **${k}** failed: ${v}`).join('\n');
  return [
    `## Spawner bench (${r.mode})`, '', machine, '', table, '', '### Targets', '', targets || '- (none evaluated)', '',
    '### Where the floor is the bottleneck', '', notes || '- (none)', '', ...(errors ? ['### Errors', '', errors, ''] : []),
  ].join('\n');
}
