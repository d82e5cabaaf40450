/**
 * One stack per test file: started (and logged in) before the file's tests, torn down after them,
 * even when a test failed. E2E_DEBUG=1 prints the spawner's log first.
 */
import { afterAll, beforeAll } from 'vitest';
import { login, spawnerLogs, startStack, type Stack, type StackOptions } from './stack.js';

export function useStack(opts: StackOptions = {}): { stack: Stack; token: string } {
  const ctx = {} as { stack: Stack; token: string };
  beforeAll(async () => {
    ctx.stack = await startStack(opts);
    ctx.token = await login(ctx.stack);
  });
  afterAll(async () => {
    if (!ctx.stack) return;
    if (process.env.E2E_DEBUG) console.log(await spawnerLogs(ctx.stack));
    await ctx.stack.teardown();
  });
  return ctx;
}
