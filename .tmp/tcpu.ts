// Throw-away: Traefik's CPU at rest with N registered (stopped) isolated instances, sampled over time.
const keep = setInterval(() => {}, 1000);
import { docker, login, startStack, api } from '../test/helpers/stack.js';
import { IMAGES } from '../test/helpers/docker-env.js';
const N = Number(process.env.N ?? 100);
const stack = await startStack({ env: { SPAWNER_LOG_LEVEL: 'info' } });
const cpu = async () => ((await stack.traefik.stats({ stream: false })) as any).cpu_stats.cpu_usage.total_usage as number;
const sample = async (label: string) => {
  const a = await cpu(); const t = Date.now(); await new Promise((r) => setTimeout(r, 5000)); const b = await cpu();
  const m = await fetch(`${stack.traefikApi}/metrics`); const text = await m.text();
  console.log(label, 'traefik cpu %', Math.round(((b - a) / 1e6 / (Date.now() - t)) * 1000) / 10, 'metrics bytes', text.length);
};
try {
  const token = await login(stack);
  await sample('empty');
  let next = 0;
  const worker = async () => { while (next < N) { const i = next++; const name = `t${String(i).padStart(4, '0')}`;
    const r = await api(stack, token, 'POST', '/deploy', { name, image: 'mock-app:nohc', envs: { IDLE: '0' } });
    if (r.status !== 200) throw new Error(JSON.stringify(r.body));
    await new Promise((res) => setTimeout(res, 400));
    await api(stack, token, 'POST', `/deploy/${name}/stop`); } };
  await Promise.all(Array.from({ length: 8 }, worker));
  for (let k = 0; k < 6; k++) await sample(`after ${N}, +${k * 5}s`);
  await api(stack, token, 'PATCH', '/x').catch(() => undefined);
} finally {
  await stack.teardown(); clearInterval(keep);
}
