/**
 * Shared by the kill -9 mid-switch e2e files: a mock-app image without HEALTHCHECK (Traefik routes
 * it as soon as it runs: only the switch route holds it back), and what converged means to them.
 */
import { execFileSync } from 'node:child_process';
import { docker, type Stack } from './stack.js';
import { IMAGES } from './docker-env.js';
import { send, type Instance } from './lifecycle.js';

/** Builds `<mock-app>-<suffix>` with HEALTHCHECK NONE; returns its tag. */
export function buildNoHealthcheckImage(suffix: string): string {
  const tag = `${IMAGES.mockApp}-${suffix}`;
  execFileSync('docker', ['build', '-q', '-t', tag, '-'], { input: `FROM ${IMAGES.mockApp}\nHEALTHCHECK NONE\n` });
  return tag;
}

export const containersOf = (stack: Stack, name: string) =>
  docker.listContainers({ all: true, filters: { label: [`spawner.id=${stack.spawnerId}`, `spawner.instance=${name}`] } });

export async function fileRouters(stack: Stack): Promise<string[]> {
  return ((await (await fetch(`${stack.traefikApi}/api/http/routers`)).json()) as { name: string }[]).map((x) => x.name).filter((n) => n.endsWith('@file'));
}

/** What answers the instance's cookie through Traefik: the CONNSTR its revision runs with, or null. */
export async function servedBy(stack: Stack, inst: Instance): Promise<string | null> {
  const a = await send(`${stack.web}/`, { cookie: inst.cookie }, 10_000);
  return a.status === 200 && a.headers['x-spawner-wake'] === undefined ? (JSON.parse(a.body) as { connstr: string | null }).connstr : null;
}
