/**
 * The standard multi-stage Dockerfiles (npm ci inside the build, not the host-built
 * Dockerfile.prebuilt) build on the engine under test, with the builder the environment asks for:
 * DOCKER_BUILDKIT=1 (the current engine's pass of scripts/test.sh: BuildKit through its buildx)
 * or the legacy builder (Debian's 20.10, DOCKER_BUILDKIT=0). The images then work: mock-app
 * becomes healthy by its own HEALTHCHECK, mock-home's production dependencies resolve.
 *
 * spawner/Dockerfile is not built here: its better-sqlite3 addon comes from a GitHub release
 * download or a node-gyp compile against headers from nodejs.org, and this machine reaches neither
 * (only the npm registry); its runtime stage is the one Dockerfile.prebuilt shares.
 *
 * The build stages reach the npm registry; behind a TLS-intercepting proxy the Node stand-in's CA
 * bundle is handed to npm, as scripts/images.sh does.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { IMAGES } from './helpers/docker-env.js';
import { run } from './helpers/compose.js'; // runs in the repository root: the build context
import { docker, RUN_LABEL } from './helpers/stack.js';
import { pollUntil } from './helpers/poll.js';

const runId = `df${randomBytes(3).toString('hex')}`;
const buildkit = process.env.DOCKER_BUILDKIT === '1';
const env = { ...process.env, DOCKER_BUILDKIT: buildkit ? '1' : '0' };
const BUILD_TIMEOUT_MS = 15 * 60_000;

afterAll(async () => {
  const cs = await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${runId}`] } });
  await Promise.all(cs.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  for (const pkg of ['mock-app', 'mock-home']) await docker.getImage(`${pkg}:${runId}`).remove({ force: true }).catch(() => undefined);
});

const danglingIds = async () => new Set((await docker.listImages({ filters: { dangling: ['true'] } })).map((i) => i.Id));

/**
 * The legacy builder leaves each build stage (deps, build) behind as an untagged image; on a
 * shared engine this test removes the ones its build made (new since `before`, the Dockerfiles'
 * WORKDIR /src). BuildKit keeps its cache in its own store, not as images.
 */
async function dropBuildStages(before: Set<string>): Promise<void> {
  for (const id of await danglingIds()) {
    if (before.has(id)) continue;
    const img = await docker.getImage(id).inspect().catch(() => undefined);
    if (img?.Config.WorkingDir === '/src') await docker.getImage(id).remove().catch(() => undefined);
  }
}

async function buildStandard(pkg: string): Promise<string> {
  const node = await docker.getImage(IMAGES.node).inspect();
  const standin = Boolean(node.Config.Labels?.['io.spawner.standin']);
  const tag = `${pkg}:${runId}`;
  const args = [
    'build', '-f', `${pkg}/Dockerfile`, '-t', tag, '--label', `${RUN_LABEL}=${runId}`,
    '--build-arg', `NODE_IMAGE=${IMAGES.node}`,
    ...(standin ? ['--build-arg', 'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt'] : []),
    ...(buildkit ? ['--progress=plain'] : []), '.',
  ];
  const t0 = Date.now();
  const before = await danglingIds();
  const r = await run('docker', args, env, BUILD_TIMEOUT_MS);
  await dropBuildStages(before);
  const log = `${r.stdout}${r.stderr}`;
  console.log(`[dockerfiles] ${pkg}/Dockerfile with ${buildkit ? 'BuildKit' : 'the legacy builder'}: exit ${r.code} in ${Math.round((Date.now() - t0) / 1000)} s`);
  expect(r.code, log.slice(-3000)).toBe(0);
  // The builder that ran is the one asked for: BuildKit's plain progress numbers its steps
  // ("#7 [deps 1/1] RUN npm ci ..."); the legacy builder prints "Step 5/20 : RUN npm ci ...".
  if (buildkit) expect(log).toMatch(/^#\d+ \[deps \d+\/\d+\] RUN npm ci/m);
  else expect(log).toMatch(/^Step \d+\/\d+ : RUN npm ci/m);
  return tag;
}

describe(`standard Dockerfiles (${buildkit ? 'BuildKit' : 'legacy builder'})`, () => {
  it('mock-app/Dockerfile builds with npm ci inside, and the image gets healthy by its own HEALTHCHECK', async () => {
    const tag = await buildStandard('mock-app');
    const c = await docker.createContainer({ Image: tag, Labels: { [RUN_LABEL]: runId }, Env: ['IDLE=0'] });
    await c.start();
    await pollUntil('mock-app healthy', async () => ((await c.inspect()).State.Health?.Status === 'healthy' ? true : undefined), { timeoutMs: 60_000, intervalMs: 250 });
  }, BUILD_TIMEOUT_MS + 120_000);

  it('mock-home/Dockerfile builds with npm ci inside, and its production dependencies resolve in the image', async () => {
    const tag = await buildStandard('mock-home');
    const r = await run('docker', ['run', '--rm', '--label', `${RUN_LABEL}=${runId}`, '--entrypoint', 'node', tag, '-e',
      "require('express'); require('cookie-parser'); console.log('deps ok')"], env, 60_000);
    expect(`${r.code} ${r.stdout.trim()}`, r.stderr).toBe('0 deps ok');
  }, BUILD_TIMEOUT_MS + 120_000);
});
