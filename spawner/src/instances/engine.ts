import { SpawnerError } from '../errors.js';

/**
 * Reads of the engine that fail (daemon restarting, socket gone) are a 503 with Retry-After for
 * the caller - a wake or GET /deploy during a Docker outage - not an internal error.
 */
export async function engine<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof SpawnerError) throw err;
    throw new SpawnerError('runtime_unavailable', 'the container engine is not answering; retry shortly', undefined, 5);
  }
}
