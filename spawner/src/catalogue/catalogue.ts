/**
 * The image catalogue (GET /runtimes): what a caller may deploy. The operator's allowlist
 * (SPAWNER_ALLOWED_IMAGES globs) is the authority; the engine says which allowed images are
 * present and what they declare. A glob can only name images that exist (it cannot be pulled); a
 * literal entry that is absent is listed as one a deploy would pull.
 */
import type { ContainerRuntime, ImageInfo } from '../runtime/types.js';
import { globMatch } from '../api/glob.js';
import { imageForMatching } from '../api/image.js';

/** OCI annotation keys (image-spec annotations.md) shown in the catalogue. */
export const OCI = {
  title: 'org.opencontainers.image.title',
  description: 'org.opencontainers.image.description',
  version: 'org.opencontainers.image.version',
} as const;

export interface RuntimeEntry {
  /** What to send as `image` in POST /deploy. */
  reference: string;
  /** true: on the engine now; false: a deploy would pull it first (SPAWNER_PULL_TIMEOUT_SEC). */
  present: boolean;
  id: string | null;
  sizeBytes: number | null;
  created: string | null;
  title: string | null;
  description: string | null;
  version: string | null;
  /** The first TCP port the image EXPOSEs (what `port` should be), null if it declares none. */
  port: number | null;
  ports: number[];
  healthCheck: ImageInfo['healthcheck'];
}

const isLiteral = (pattern: string) => !pattern.includes('*');

function entry(reference: string, img: ImageInfo): RuntimeEntry {
  return {
    reference, present: true, id: img.id, sizeBytes: img.sizeBytes, created: img.created || null,
    title: img.labels[OCI.title] ?? null,
    description: img.labels[OCI.description] ?? null,
    version: img.labels[OCI.version] ?? null,
    port: img.ports[0] ?? null, ports: img.ports, healthCheck: img.healthcheck,
  };
}

function absent(reference: string): RuntimeEntry {
  return {
    reference, present: false, id: null, sizeBytes: null, created: null, title: null,
    description: null, version: null, port: null, ports: [], healthCheck: null,
  };
}

/** Sorted by reference; one entry per allowed reference (an image with two allowed tags: two). */
export async function listRuntimes(runtime: ContainerRuntime, allowed: readonly string[]): Promise<RuntimeEntry[]> {
  const images = await runtime.listImages();
  const out = new Map<string, RuntimeEntry>();
  for (const img of images) {
    for (const ref of img.refs) {
      const candidate = imageForMatching(ref);
      if (allowed.some((p) => globMatch(p, candidate))) out.set(ref, entry(ref, img));
    }
  }
  for (const pattern of allowed.filter(isLiteral)) {
    const ref = imageForMatching(pattern);
    if (![...out.keys()].some((k) => imageForMatching(k) === ref)) out.set(pattern, absent(pattern));
  }
  return [...out.values()].sort((a, b) => a.reference.localeCompare(b.reference));
}
