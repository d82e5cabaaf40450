/**
 * Section `redeploy`: start-first redeploys of a running instance under load through Traefik
 * (4 clients, GETs and POSTs with unique ids), for mock-app without HEALTHCHECK and with one. Per
 * switch: the switch time (last answer by the old container → first by the new one; negative
 * when they overlapped, i.e. requests in flight on the old one finished after the first new one)
 * and the redeploy call's duration; over the run: errors, lost and replayed POSTs (the app's own
 * log of every container, LOG_REQUESTS=1).
 */
import { performance } from 'node:perf_hooks';
import { api } from '../../test/helpers/stack.js';
import { IMAGES } from '../../test/helpers/docker-env.js';
import { followInstanceLogs, postAccounting, startLoad, switchGap } from '../../test/helpers/redeploy-load.js';
import { pollUntil } from '../../test/helpers/poll.js';
import { runningContainersOf } from '../../test/helpers/runtime-view.js';
import { buildNoHealthcheckImage } from './docker.js';
import type { Ctx } from './common.js';
import { dist, type Dist } from './stats.js';

export interface RedeployVariant {
  images: [string, string];
  switches: number;
  switchGapMs: Dist;
  redeployCallMs: Dist;
  requests: number;
  posts: number;
  errors: number;
  lost: number;
  replayed: number;
}
export type RedeployResult = Partial<Record<'hc' | 'nohc', RedeployVariant>>;

async function ipOf(ctx: Ctx, id: string): Promise<string> {
  const info = await ctx.docker.getContainer(id).inspect();
  return Object.values(info.NetworkSettings.Networks)[0]?.IPAddress ?? '';
}

async function variant(ctx: Ctx, name: string, images: [string, string], switches: number): Promise<RedeployVariant> {
  const { stack, token } = ctx;
  const r0 = await api(stack, token, 'POST', '/deploy?wait=true', { name, image: images[0], envs: { IDLE: '0', LOG_REQUESTS: '1' } });
  if (r0.status !== 200) throw new Error(`deploy ${name}: ${r0.status} ${JSON.stringify(r0.body).slice(0, 200)}`);
  const inst = { name, id: String(r0.body.id), hostname: name, cookie: `instance=${String(r0.body.cookie.value)}` };
  const logs = followInstanceLogs(() => runningContainersOf(stack, name));
  const load = startLoad(stack.web, inst);
  const gaps: number[] = [];
  const calls: number[] = [];
  try {
    await pollUntil('load answered', async () => (load.served.filter((s) => s.ok).length > 20 ? true : undefined));
    for (let i = 1; i <= switches; i++) {
      const cur = String((await api(stack, token, 'GET', `/deploy/${name}`)).body.id);
      const oldIp = await ipOf(ctx, cur);
      const from = load.served.length;
      const t0 = performance.now();
      const r = await api(stack, token, 'POST', `/deploy/${name}/revisions`, { image: images[i % 2] });
      calls.push(performance.now() - t0);
      if (r.status !== 200) throw new Error(`redeploy ${name} #${i}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      const seen = load.served.length;
      await pollUntil('new revision answering', async () => (load.served.slice(seen).filter((s) => s.ok && !s.ips.includes(oldIp)).length > 20 ? true : undefined));
      const g = switchGap(load.served, oldIp, from);
      if (g) gaps.push(g.gapMs);
      ctx.log(`redeploy ${name} #${i}: call ${Math.round(calls[calls.length - 1] ?? 0)} ms, switch gap ${g?.gapMs ?? '?'} ms`);
    }
  } finally {
    await load.stop();
  }
  await new Promise((r) => setTimeout(r, 300)); // the last log lines reach the follower
  await logs.stop();
  const acc = postAccounting(load.served, logs.counts());
  return {
    images, switches, switchGapMs: dist(gaps), redeployCallMs: dist(calls), requests: load.served.length,
    posts: acc.posts, errors: acc.errors.length, lost: acc.lost, replayed: acc.replayed,
  };
}

export async function redeploys(ctx: Ctx): Promise<RedeployResult> {
  const switches = ctx.quick ? 2 : 10;
  const nohcV2 = `${IMAGES.mockAppAlt}-nohc`;
  await buildNoHealthcheckImage(IMAGES.mockAppAlt, nohcV2);
  return {
    nohc: await variant(ctx, 'rd-nohc', [ctx.images.nohc, nohcV2], switches),
    hc: await variant(ctx, 'rd-hc', [ctx.images.hc, IMAGES.mockAppAlt], switches),
  };
}
