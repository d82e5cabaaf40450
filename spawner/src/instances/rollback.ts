/**
 * Rollback: a forward deploy of an earlier revision's configuration, as a NEW revision, through the
 * same gate and switch as any redeploy (labels are immutable, so restarting an old container would
 * bring back an old route; and the old container is gone anyway). The exact image it ran is used
 * when it is still on the engine, even if its tag now names another image.
 */
import { SpawnerError } from '../errors.js';
import { type RedeployResult, type Redeployer, type Strategy } from './redeploy.js';

export async function rollback(r: Redeployer, nameOrId: string, n: number, by: string, strategy?: Strategy): Promise<RedeployResult> {
  const name = r.service.resolve(nameOrId).name;
  const revisions = r.revisions();
  const row = revisions.get(name, n);
  if (row.status === 'failed') {
    throw new SpawnerError('conflict', `revision ${n} of ${name} failed (${row.failedStep ?? 'unknown step'}); roll back to one that served`, 'revision');
  }
  if (row.status === 'pending') throw new SpawnerError('redeploy_in_progress', `revision ${n} of ${name} is being deployed`, 'revision');
  const { env, image: ref, ...rest } = revisions.specOf(row);
  const image = await exactImage(r, ref, row.imageId);
  if (!image) {
    throw new SpawnerError('image_unavailable', `the image of revision ${n} (${ref}${row.imageId ? `, ${row.imageId.slice(0, 19)}` : ''}) is no longer on the engine`, 'revision');
  }
  const { port, labels, limits, healthCheck, idleTimeoutSec } = rest;
  return r.redeploy(name, { image, env, port, labels, limits, healthCheck, idleTimeoutSec }, by, strategy);
}

/** The reference to deploy: the tag if it still names the recorded image, else the image id. */
async function exactImage(r: Redeployer, ref: string, imageId: string | null): Promise<string | null> {
  const images = await r.d.runtime.listImages().catch(() => null);
  if (!images) throw new SpawnerError('runtime_unavailable', 'the container engine is not answering; retry shortly', undefined, 5);
  const byRef = images.find((i) => i.refs.includes(ref));
  if (byRef && (!imageId || byRef.id === imageId)) return ref;
  // Untagged images are not in the list; the engine still knows them by id.
  if (imageId && (await r.d.runtime.imageExists(imageId).catch(() => false))) return imageId;
  return null;
}
