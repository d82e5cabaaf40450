/**
 * First-start initialization. After an instance passes the readiness gate, the spawner POSTs to
 * the init path on the instance's own address: the caller's payload plus credentials generated
 * for this instance, with an Idempotency-Key that stays the same across retries and restarts.
 * Transient trouble is retried with capped backoff until the deadline; the answer (JSON, capped)
 * is sealed at rest. Nothing handled here - payload, credentials, answer - is ever logged, put in
 * a metric or in an error message.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { SpawnerError } from '../errors.js';
import type { Logger } from '../log.js';
import { sleep } from '../readiness/retry.js';
import { instanceUrl } from '../readiness/address.js';
import { open, seal } from '../secrets/seal.js';
import type { InitMode, InitRecord, InitStatus, InitStore } from '../store/init.js';
import { postInit, type InitPost } from './init-http.js';

export interface InitSpec {
  path: string;
  payload: Record<string, unknown>;
  when: InitMode;
  deadlineSec: number;
}

export interface InitDeps {
  store: InitStore;
  /** null: no SPAWNER_INIT_KEY(_FILE); deploys with `init` are refused. */
  key: Buffer | null;
  maxResultBytes: number;
  log: Logger;
  now: () => number;
  post?: InitPost;
}

/** What GET /deploy/:name/init answers; `result` only there (and once in POST /deploy?wait=true). */
export interface InitView {
  status: InitStatus;
  reason: string | null;
  path: string;
  when: InitMode;
  /** Runs of init so far (each run retries transient trouble on its own). */
  runs: number;
  updatedAt: string;
  result?: unknown;
}

const FIRST_BACKOFF_MS = 100;
const CAP_BACKOFF_MS = 2_000;
const ATTEMPT_TIMEOUT_MS = 10_000;
export const IDEMPOTENCY_HEADER = 'idempotency-key';

const aad = (instance: string, what: 'request' | 'result') => `spawner-init/${instance}/${what}`;

export class Initializer {
  constructor(private readonly d: InitDeps) {}

  get enabled(): boolean {
    return this.d.key !== null;
  }

  private key(): Buffer {
    if (!this.d.key) throw new SpawnerError('init_unavailable', 'instance initialization needs SPAWNER_INIT_KEY or SPAWNER_INIT_KEY_FILE on the spawner', 'init');
    return this.d.key;
  }

  /** The row for a new instance: credentials generated now, sealed with the payload. */
  record(instance: string, spec: InitSpec): InitRecord {
    const credentials = { username: `u${randomBytes(6).toString('hex')}`, password: randomBytes(24).toString('base64url') };
    const request = seal(this.key(), JSON.stringify({ payload: spec.payload, credentials }), aad(instance, 'request'));
    return {
      instance, path: spec.path, mode: spec.when, deadlineSec: spec.deadlineSec, request,
      idempotencyKey: randomUUID(), status: 'pending', reason: null, result: null, attempts: 0, updatedAt: this.d.now(),
    };
  }

  insert(rec: InitRecord): void {
    this.d.store.insert(rec);
  }

  /** Must this wake run init? Until it succeeded once; with every-start, also after each start. */
  needed(instance: string, started: boolean): boolean {
    const rec = this.d.store.get(instance);
    if (!rec) return false;
    return rec.status !== 'done' || (rec.mode === 'every-start' && started);
  }

  /** Runs init to the end (done) or throws SpawnerError('init_failed') after recording why. */
  async run(instance: string, ip: string, port: number): Promise<void> {
    const rec = this.d.store.get(instance);
    if (!rec) return;
    const key = this.key();
    const t0 = this.d.now();
    this.d.store.markRunning(instance, t0);
    const deadline = AbortSignal.timeout(rec.deadlineSec * 1000);
    const req = JSON.parse(open(key, rec.request, aad(instance, 'request'))) as { payload: unknown; credentials: unknown };
    const body = JSON.stringify({ instance, payload: req.payload, credentials: req.credentials });
    const post = this.d.post ?? postInit;
    let delay = FIRST_BACKOFF_MS;
    let last = 'no attempt';
    let attempts = 0;
    for (;;) {
      attempts++;
      const a = await post(instanceUrl(ip, port, rec.path), body, { [IDEMPOTENCY_HEADER]: rec.idempotencyKey }, {
        timeoutMs: ATTEMPT_TIMEOUT_MS, maxBytes: this.d.maxResultBytes, signal: deadline,
      });
      if (a.kind === 'ok') {
        this.d.store.markDone(instance, seal(key, a.text, aad(instance, 'result')), this.d.now());
        this.d.log.info('init', { instance, result: 'ok', attempts, ms: this.d.now() - t0 });
        return;
      }
      if (a.kind === 'fail') return this.failed(instance, a.why, attempts);
      last = a.why;
      try {
        await sleep(delay, deadline);
      } catch {
        return this.failed(instance, `no answer within ${rec.deadlineSec} s (last: ${last})`, attempts);
      }
      delay = Math.min(delay * 2, CAP_BACKOFF_MS);
    }
  }

  private failed(instance: string, reason: string, attempts: number): never {
    this.d.store.markFailed(instance, reason, this.d.now());
    this.d.log.warn('init', { instance, result: 'failed', reason, attempts });
    throw new SpawnerError('init_failed', `instance ${instance} could not be initialized: ${reason}; the next wake or POST /deploy/${instance}/init runs it again`, undefined, 5);
  }

  /** Status for the API; `withResult` opens the sealed answer (authorized callers only). */
  view(instance: string, withResult: boolean): InitView | null {
    const rec = this.d.store.get(instance);
    if (!rec) return null;
    const v: InitView = {
      status: rec.status, reason: rec.reason, path: rec.path, when: rec.mode, runs: rec.attempts,
      updatedAt: new Date(rec.updatedAt).toISOString(),
    };
    if (withResult && rec.status === 'done' && rec.result) {
      v.result = JSON.parse(open(this.key(), rec.result, aad(instance, 'result')));
    }
    return v;
  }
}
