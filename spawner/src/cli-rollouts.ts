/** `spawner rollout …`: start, list, show, pause, resume and abort fleet rollouts. */
import type { Command } from 'commander';
import { call, common, keyValues, out, type Common } from './cli-client.js';

interface View {
  id: number; status: string; reason: string | null;
  counts: Record<string, number>;
  instances?: { instance: string; wave: number; status: string; fromRevision: number | null; toRevision: number | null; reason: string | null }[];
}

const FINAL = ['done', 'aborted', 'failed', 'paused'];

function summary(v: View): string {
  const c = Object.entries(v.counts).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ');
  return `rollout ${v.id}: ${v.status}${v.reason ? ` (${v.reason})` : ''}; ${c}`;
}

function detail(v: View): string {
  const rows = (v.instances ?? []).map((i) => [i.instance, i.wave, i.status, i.fromRevision ?? '', i.toRevision ?? '', i.reason ?? ''].join('\t'));
  return [summary(v), 'INSTANCE\tWAVE\tSTATUS\tFROM\tTO\tREASON', ...rows].join('\n');
}

export function registerRolloutCommands(program: Command): void {
  const rollout = program.command('rollout').description('fleet rollouts: a new image or env for every matching instance, in waves');
  common(rollout.command('start').description('start a rollout; with --wait, follow it until it ends or pauses'))
    .requiredOption('--selector <glob>', 'image glob of the instances to upgrade, e.g. mock-app:*')
    .option('--name <glob>', 'only instances whose name matches this glob')
    .option('--image <image>', 'the target image')
    .option('--env <KEY=VALUE>', 'an env key set on every instance (repeatable; other keys stay)', keyValues, undefined)
    .option('--canary <n>', 'instances upgraded alone first', (v) => Number(v))
    .option('--wave-size <n>', 'instances per wave', (v) => Number(v))
    .option('--wave-delay <sec>', 'seconds between waves', (v) => Number(v))
    .option('--max-failure-ratio <r>', 'failed/wave above this pauses the rollout', (v) => Number(v))
    .option('--wait', 'poll until the rollout is done, paused, aborted or failed')
    .action(async (o: Common & { selector: string; name?: string; image?: string; env?: Record<string, string>; canary?: number; waveSize?: number; waveDelay?: number; maxFailureRatio?: number; wait?: boolean }) => {
      const body = {
        selector: { image: o.selector, ...(o.name ? { name: o.name } : {}) },
        target: { ...(o.image ? { image: o.image } : {}), ...(o.env ? { envs: o.env } : {}) },
        canary: o.canary, waveSize: o.waveSize, waveDelaySec: o.waveDelay, maxFailureRatio: o.maxFailureRatio,
      };
      let v = (await call(o, 'POST', '/rollouts', body)) as View;
      while (o.wait && !FINAL.includes(v.status)) {
        await new Promise((r) => setTimeout(r, 1000));
        v = (await call(o, 'GET', `/rollouts/${v.id}`)) as View;
      }
      out(o, v, () => detail(v));
    });
  common(rollout.command('ls').description('list rollouts, newest first')).action(async (o: Common) => {
    const data = (await call(o, 'GET', '/rollouts')) as { rollouts: View[] };
    out(o, data, () => data.rollouts.map(summary).join('\n') || 'no rollouts');
  });
  common(rollout.command('show <id>').description('a rollout with its progress per instance')).action(async (id: string, o: Common) => {
    const v = (await call(o, 'GET', `/rollouts/${encodeURIComponent(id)}`)) as View;
    out(o, v, () => detail(v));
  });
  for (const verb of ['pause', 'resume', 'abort'] as const) {
    common(rollout.command(`${verb} <id>`).description(`${verb} a rollout`)).action(async (id: string, o: Common) => {
      const v = (await call(o, 'POST', `/rollouts/${encodeURIComponent(id)}/${verb}`)) as View;
      out(o, v, () => summary(v));
    });
  }
}
