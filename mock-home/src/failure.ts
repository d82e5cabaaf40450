/** What a visitor is told (and with which status) when the spawner will not create their app. */
import type { ErrorView } from './pages.js';
import type { Problem } from './spawner-client.js';

export type Failure = Omit<ErrorView, 'homePath' | 'detail' | 'code'> & { status: number };
const failure = (status: number, title: string, message: string): Failure => ({ status, title, message });
const LATER = 'Please try again shortly.';

/**
 * Maps a spawner refusal to what the visitor sees. The visitor's mistakes keep their 4xx; our own
 * (bad token, wrong API URL) and the spawner's failures are a 502 for them.
 */
export function describeFailure(p: Problem, name: string): Failure {
  if (p.status === 409 || p.code === 'conflict') {
    return failure(409, 'Name taken', `The name "${name}" is already taken. Please pick another.`);
  }
  if (p.status === 429) return failure(429, 'Too many requests', `Too many sign-ups right now. ${LATER}`);
  if (p.status >= 400 && p.status < 500 && ![401, 403, 404].includes(p.status)) {
    return failure(p.status, 'Cannot create your app', 'The spawner refused this request.');
  }
  if (p.code === 'spawner_unreachable') {
    return failure(502, 'Spawner unreachable', `The spawner could not be reached. ${LATER}`);
  }
  if (p.status === 503 || p.status === 504) return failure(p.status, 'Spawner busy', `The spawner is busy. ${LATER}`);
  return failure(502, 'Spawner error', 'The spawner could not create your app. Please tell the operator.');
}
