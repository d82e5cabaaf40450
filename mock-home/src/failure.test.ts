import { describe, expect, it } from 'vitest';
import { describeFailure } from './failure.js';
import type { Problem } from './spawner-client.js';

describe('describeFailure', () => {
  it.each([
    [{ status: 409, title: 'Conflict', code: 'conflict' }, 409, 'Name taken'],
    [{ status: 400, title: 'Bad', code: 'image_not_allowed' }, 400, 'Cannot create your app'],
    [{ status: 429, title: 'Slow down', code: 'rate_limited' }, 429, 'Too many requests'],
    // Our token or API URL is wrong: not the visitor's fault.
    [{ status: 401, title: 'Unauthorized', code: 'unauthorized' }, 502, 'Spawner error'],
    [{ status: 404, title: 'Not Found' }, 502, 'Spawner error'],
    [{ status: 502, title: 'Spawner unreachable', code: 'spawner_unreachable' }, 502, 'Spawner unreachable'],
    [{ status: 503, title: 'Busy', code: 'over_capacity' }, 503, 'Spawner busy'],
    [{ status: 504, title: 'Slow', code: 'spawner_timeout' }, 504, 'Spawner busy'],
    [{ status: 500, title: 'Oops', code: 'internal' }, 502, 'Spawner error'],
  ] as [Problem, number, string][])('maps %j to %d %s', (problem, status, title) => {
    expect(describeFailure(problem, 'alice')).toMatchObject({ status, title });
  });

  it('names the taken name', () => {
    expect(describeFailure({ status: 409, title: 'Conflict' }, 'alice').message).toContain('"alice"');
  });
});
