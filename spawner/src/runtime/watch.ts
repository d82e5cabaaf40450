/**
 * A line-oriented event stream that reconnects with capped exponential backoff. Events alone are
 * never trusted: onReconnect fires after every successful (re)connection so the caller rescans.
 */
export interface Backoff {
  next(): number;
  reset(): void;
}

export function cappedBackoff(firstMs = 100, capMs = 5_000): Backoff {
  let current = firstMs;
  return {
    next() {
      const d = current;
      current = Math.min(current * 2, capMs);
      return d;
    },
    reset() {
      current = firstMs;
    },
  };
}

export interface WatchOptions {
  connect: (signal: AbortSignal) => Promise<NodeJS.ReadableStream>;
  onLine: (line: string) => void;
  signal: AbortSignal;
  onReconnect?: () => void;
  onError?: (err: unknown) => void;
  backoff?: Backoff;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const abortableSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });

export function watchWithBackoff(opts: WatchOptions): void {
  const backoff = opts.backoff ?? cappedBackoff();
  const sleep = opts.sleep ?? abortableSleep;
  void (async () => {
    while (!opts.signal.aborted) {
      try {
        const stream = await opts.connect(opts.signal);
        backoff.reset();
        opts.onReconnect?.();
        await readLines(stream, opts.onLine, opts.signal);
        if (!opts.signal.aborted) opts.onError?.(new Error('event stream ended'));
      } catch (err) {
        if (opts.signal.aborted) return;
        opts.onError?.(err);
      }
      if (!opts.signal.aborted) await sleep(backoff.next(), opts.signal);
    }
  })();
}

function readLines(stream: NodeJS.ReadableStream, onLine: (l: string) => void, signal: AbortSignal) {
  return new Promise<void>((resolve, reject) => {
    let buf = '';
    const onAbort = () => {
      (stream as { destroy?: () => void }).destroy?.();
      resolve();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    stream.on('data', (chunk: Buffer | string) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) onLine(line);
      }
    });
    stream.on('end', () => { signal.removeEventListener('abort', onAbort); resolve(); });
    stream.on('close', () => { signal.removeEventListener('abort', onAbort); resolve(); });
    stream.on('error', (e) => { signal.removeEventListener('abort', onAbort); reject(e); });
  });
}
