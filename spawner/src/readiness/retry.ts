/**
 * Poll-until with short, growing backoff (first retry after 25 ms, capped at 250 ms): fast enough
 * that a 1 s app is seen within ~250 ms of being up, without fixed multi-second ticks.
 */
export interface RetryOptions {
  signal: AbortSignal;
  firstMs?: number;
  capMs?: number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Sees each failed attempt's error (kept for the deadline message, never rethrown). */
  onError?: (err: unknown) => void;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(t); reject(signal?.reason); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Calls `attempt` until it returns a non-undefined value or the signal aborts (then throws). */
export async function retryUntil<T>(
  attempt: () => Promise<T | undefined>,
  opts: RetryOptions,
): Promise<T> {
  const wait = opts.sleep ?? sleep;
  let delay = opts.firstMs ?? 25;
  const cap = opts.capMs ?? 250;
  for (;;) {
    opts.signal.throwIfAborted();
    let result: T | undefined;
    try {
      result = await attempt();
    } catch (err) {
      opts.onError?.(err);
      result = undefined; // a failed attempt is "not yet"; the deadline decides when to give up
    }
    if (result !== undefined) return result;
    await wait(delay, opts.signal);
    delay = Math.min(delay * 2, cap);
  }
}
