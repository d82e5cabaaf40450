// Throw-away: where Traefik spends the time between Docker's healthy and the route, in the e2e stack.
import { docker, login, startStack, api } from '../test/helpers/stack.js';
import { IMAGES } from '../test/helpers/docker-env.js';
const stack = await startStack({ env: { SPAWNER_LOG_LEVEL: 'info' }, traefikArgs: ['--log.level=DEBUG'] });
try {
  const token = await login(stack);
  const r = await api(stack, token, 'POST', '/deploy', { name: 'tr', image: IMAGES.mockApp, envs: { IDLE: '0' } });
  const id = String(r.body.id);
  await new Promise((res) => setTimeout(res, 3000));
  for (let i = 0; i < 4; i++) {
    await api(stack, token, 'POST', '/deploy/tr/stop');
    await new Promise((res) => setTimeout(res, 1500));
    const t0 = Date.now();
    console.log('start at', new Date(t0).toISOString());
    await docker.getContainer(id).start();
    for (;;) {
      const x = await fetch(`${stack.traefikApi}/api/http/routers/spawner-i-tr@docker`);
      await x.body?.cancel();
      if (x.ok) break;
      await new Promise((res) => setTimeout(res, 5));
    }
    console.log('route at', new Date().toISOString(), Date.now() - t0);
    await new Promise((res) => setTimeout(res, 500));
  }
  const logs = await stack.traefik.logs({ stdout: true, stderr: true, timestamps: true });
  (await import('node:fs')).writeFileSync('/tmp/hcx/stack-tx.log', logs.toString('latin1'));
} finally {
  await stack.teardown();
}
