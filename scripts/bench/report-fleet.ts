/** Markdown rows of sections 12 (fleet throughput) and 13 (scale), in report.ts's row shape. */
import type { BenchResult } from './result.js';
import { distRow, fmt, valueRow, type Row } from './report-rows.js';

export function fleetRows(r: BenchResult, tgt: (id: string) => [string, boolean | undefined]): Row[] {
  const rows: Row[] = [];
  const fl = r.sections.fleet;
  if (fl) {
    const levels = (xs: typeof fl.floor.start) => xs.map((x) => `${x.concurrency}: ${x.perSec}/s`).join(', ');
    const b = fl.floor.best;
    rows.push(valueRow('12 fleet', `floor: create+start of ${fl.image} straight through the Engine API, best concurrency`, b.createStart.n, `${b.createStart.perSec}/s at ${b.createStart.concurrency}`, levels(fl.floor.createStart)));
    rows.push(valueRow('12 fleet', 'floor: the same with a deploy\'s network work (own network, Traefik and the spawner joined), best concurrency', b.createStartIsolated.n, `${b.createStartIsolated.perSec}/s at ${b.createStartIsolated.concurrency}`, levels(fl.floor.createStartIsolated)));
    rows.push(valueRow('12 fleet', 'floor: start (Engine API call returned), best concurrency', b.start.n, `${b.start.perSec}/s at ${b.start.concurrency}`, levels(fl.floor.start)));
    rows.push(valueRow('12 fleet', 'floor: start → app\'s first 200 on its address, best concurrency', b.startToApp200.n, `${b.startToApp200.perSec}/s at ${b.startToApp200.concurrency}`, levels(fl.floor.startToApp200)));
    for (const d of fl.deploys) {
      const [t, p] = tgt(`fleetDeploys${d.concurrency}`);
      rows.push(valueRow('12 fleet', `POST /deploy ${d.concurrency} at a time ÷ create+start floor`, d.n, `${d.perSec}/s = ${d.ratioToCreateStartFloor} ×`, `${d.ratioToIsolatedFloor} × the isolated create+start floor; per deploy p50 ${fmt(d.perDeploy.p50, 'ms')}`, t, p));
    }
    const f = fl.fanout;
    const [t, p] = tgt('fleetFanout');
    rows.push(valueRow('12 fleet', `fan-out wake of ${f.instances} stopped instances, clients to their app ÷ start floor`, f.instances, `${f.perSec}/s = ${f.ratioToStartFloor} ×`, `${f.ratioToStartToApp200Floor} × the start → app 200 floor; ${f.finalSuccess} at their app, ${f.starts} starts, wall ${f.wallMs} ms`, t, p));
  }
  for (const l of r.sections.scale ?? []) {
    const sec = `13 scale (${l.instances})`;
    const last = l === r.sections.scale?.at(-1);
    const [dt, dp] = last ? tgt('scaleDeploy') : ['', undefined];
    const [ot, op] = last ? tgt('scaleOverhead') : ['', undefined];
    rows.push(distRow(sec, `POST /deploy one after another at ${l.instances} instances`, l.deploySequential, `registering up to the level: ${l.registration.added} in ${fmt(l.registration.wallSec, 's')}`, dt, dp));
    rows.push(distRow(sec, 'POST /deploy 10 at a time', l.deployConcurrent.perDeploy, `${l.deployConcurrent.deploysPerSec} deploys/s`));
    rows.push(distRow(sec, 'POST /deploy → router visible in Traefik\'s API', l.deployToRoute));
    rows.push(valueRow(sec, 'cold wake (no HC): wake p50 / floor p50 / overhead (median of pairs)', l.wake.wake.n, `${fmt(l.wake.wake.p50, 'ms')} / ${fmt(l.wake.floorToApp200.p50, 'ms')} / ${fmt(l.wake.overheadVsApp200, 'ms')}`, `vs reachable through Traefik ${fmt(l.wake.overheadVsReachable, 'ms')}; errors ${l.wake.errors}`, ot, op));
    rows.push(valueRow(sec, `Traefik on ${l.traefik.networks} networks / spawner`, 1, `${fmt(l.traefik.rssMiB, 'MiB')} / ${fmt(l.spawner.rssMiB, 'MiB')} RSS`, `Traefik CPU ${l.traefik.cpuPercentRightAfter} % of a core right after the level's work, ${l.traefik.cpuPercentAtRest} % at rest (${l.traefik.settleSec} s later)`));
    rows.push(distRow(sec, `GET /deploy at ${l.getDeploy.instancesListed} instances`, l.getDeploy));
  }
  return rows;
}
