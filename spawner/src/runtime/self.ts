/**
 * Which container this process runs in, from its own mount table: Docker bind-mounts
 * /etc/hostname, /etc/hosts and /etc/resolv.conf from /var/lib/docker/containers/<id>/. The
 * hostname is no proof (an operator may set it), the mount source is.
 */
import { readFile } from 'node:fs/promises';

const CONTAINER_DIR = /\/containers\/([a-f0-9]{64})\/(?:hostname|hosts|resolv\.conf)\s/;

export function containerIdFromMountinfo(mountinfo: string): string | null {
  for (const line of mountinfo.split('\n')) {
    const m = CONTAINER_DIR.exec(line);
    if (m?.[1]) return m[1];
  }
  return null;
}

export async function readSelfContainerId(path = '/proc/self/mountinfo'): Promise<string | null> {
  try {
    return containerIdFromMountinfo(await readFile(path, 'utf8'));
  } catch {
    return null;
  }
}
