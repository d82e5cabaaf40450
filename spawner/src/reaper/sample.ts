/** Reads one activity sample: Traefik's metrics once, plus each container's network counter. */
import type { ContainerInfo, ContainerRuntime } from '../runtime/types.js';
import type { InstanceRecord } from '../instances/types.js';
import type { TraefikApi } from '../traefik/api.js';
import type { ActivitySample, TrafficReading } from './activity.js';
import { parseServiceActivity } from './prometheus.js';

export interface Watched {
  rec: InstanceRecord;
  /** The running container: its id, and its start (network counters restart with it). */
  info: Pick<ContainerInfo, 'id' | 'startedAt'>;
}

/** Docker answers one-shot stats on its collector's next round (up to ~1 s): ask in parallel. */
const TRAFFIC_CONCURRENCY = 32;

/**
 * Numbers the scrapes in the order they were started. Rounds and the re-checks before idle stops
 * scrape concurrently, and their answers may arrive out of order: a consumer of counters
 * (instances/stats.ts) must not take an older reading after a newer one for a counter reset.
 */
let scrapes = 0;

/** Throws when Traefik's metrics cannot be read: then nothing is known and nothing is stopped. */
export async function collectSample(
  traefik: Pick<TraefikApi, 'metrics'>,
  runtime: Pick<ContainerRuntime, 'networkTxBytes'>,
  watched: readonly Watched[],
): Promise<ActivitySample> {
  const seq = ++scrapes;
  const readTx = runtime.networkTxBytes?.bind(runtime);
  const [text, traffic] = await Promise.all([
    traefik.metrics(),
    readTx ? readTraffic(readTx, watched) : Promise.resolve(undefined),
  ]);
  const { requests, openConnections, series, traefikStartedAt } = parseServiceActivity(text);
  return { instances: watched.map((w) => w.rec.name), requests, openConnections, traffic, series, traefikStartedAt, seq };
}

async function readTraffic(
  readTx: (id: string) => Promise<number | null>,
  watched: readonly Watched[],
): Promise<Map<string, TrafficReading | null>> {
  const out = new Map<string, TrafficReading | null>();
  await mapLimit(watched, TRAFFIC_CONCURRENCY, async ({ rec, info }) => {
    const tx = await readTx(info.id).catch(() => null);
    out.set(rec.name, tx === null ? null : { startedAt: info.startedAt ?? '', txBytes: tx });
  });
  return out;
}

export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
