/**
 * Image reads for the catalogue (GET /runtimes): list the engine's tagged images and map each
 * inspect answer to the runtime port's ImageInfo. Kept apart from docker.ts (containers) so each
 * file stays readable; like it, only runtime/docker*.ts may import dockerode.
 */
import type Docker from 'dockerode';
import type { ImageInfo } from './types.js';

interface ImageInspectLike {
  Id: string;
  RepoTags?: string[] | null;
  Size?: number;
  Created?: string;
  Config?: {
    Labels?: Record<string, string> | null;
    ExposedPorts?: Record<string, unknown> | null;
    Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number } | null;
  } | null;
}

const NS_PER_SEC = 1e9;

/** Pure: one inspect answer to ImageInfo (`<none>:<none>` tags are Docker's "untagged"). */
export function toImageInfo(raw: ImageInspectLike): ImageInfo {
  const hc = raw.Config?.Healthcheck;
  const test = hc?.Test ?? [];
  const ports = Object.keys(raw.Config?.ExposedPorts ?? {})
    .map((k) => /^(\d+)(?:\/tcp)?$/.exec(k))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  return {
    id: raw.Id,
    refs: (raw.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
    sizeBytes: raw.Size ?? 0,
    created: raw.Created ?? '',
    labels: { ...(raw.Config?.Labels ?? {}) },
    ports,
    healthcheck: test.length === 0 || test[0] === 'NONE' ? null : {
      test,
      ...(hc?.Interval ? { intervalSec: hc.Interval / NS_PER_SEC } : {}),
      ...(hc?.Timeout ? { timeoutSec: hc.Timeout / NS_PER_SEC } : {}),
      ...(hc?.Retries ? { retries: hc.Retries } : {}),
    },
  };
}

export async function listImages(docker: Docker): Promise<ImageInfo[]> {
  const summaries = await docker.listImages({ filters: { dangling: ['false'] } });
  const tagged = summaries.filter((s) => (s.RepoTags ?? []).some((t) => t !== '<none>:<none>'));
  const infos = await Promise.all(tagged.map(async (s) => {
    try {
      return toImageInfo(await docker.getImage(s.Id).inspect() as unknown as ImageInspectLike);
    } catch (err) {
      // Removed between list and inspect: it is simply not in the catalogue any more.
      if ((err as { statusCode?: number }).statusCode === 404) return null;
      throw err;
    }
  }));
  return infos.filter((i): i is ImageInfo => i !== null);
}
