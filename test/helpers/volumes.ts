/** Instance data volumes on the engine, as the e2e tests look at them. */
import { docker, type Stack } from './stack.js';

/** The spawner's name of an instance's data volume (`<container prefix><name>-data`). */
export const instanceVolume = (stack: Pick<Stack, 'runId'>, name: string) => `${stack.runId}-${name}-data`;

/** `docker volume inspect`, or null when there is no such volume (404). */
export async function volumeOrNull(name: string) {
  try {
    return await docker.getVolume(name).inspect();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return null;
    throw err;
  }
}
