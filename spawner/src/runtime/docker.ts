/**
 * DockerRuntime: the only module that imports dockerode. Requests go to unversioned API paths, so
 * the daemon answers in its own (highest) version; we read that version once to decide which
 * newer create options (health StartInterval, API >= 1.44) may be sent.
 */
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import type {
  ContainerInfo, ContainerRuntime, ContainerSpec, ImageInfo, NetworkInfo, NetworkSpec, PullOptions, RuntimeEvent,
  VolumeInfo, VolumeSpec,
} from './types.js';
import { listImages } from './docker-images.js';
import * as nets from './docker-networks.js';
import * as vols from './docker-volumes.js';
import { readSelfContainerId } from './self.js';
import {
  DEFAULT_HEALTH_START_INTERVAL_MS, healthcheckPlan, instanceHealthcheck, summaryInfo, toContainerInfo, toRuntimeEvent, labelFilters,
} from './docker-mapping.js';
import { watchWithBackoff } from './watch.js';

/** Marks the throw-away containers of readSocketTable (they remove themselves when done). */
export const SOCKET_PROBE_LABEL = 'spawner.socket-probe';

function statusOf(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && 'statusCode' in err
    ? (err as { statusCode?: number }).statusCode
    : undefined;
}

export class DockerRuntime implements ContainerRuntime {
  private readonly docker: Docker;
  private version?: Promise<string>;
  private readonly startIntervalNs: number;

  constructor(docker?: Docker, opts: { healthStartIntervalMs?: number } = {}) {
    this.docker = docker ?? new Docker();
    this.startIntervalNs = (opts.healthStartIntervalMs ?? DEFAULT_HEALTH_START_INTERVAL_MS) * 1_000_000;
  }

  /** The StartInterval (ns) added to an image's HEALTHCHECK where the engine has one. */
  healthStartIntervalNs(): number { return this.startIntervalNs; }

  apiVersion(): Promise<string> {
    // A failed read (engine not up yet) is not kept: the next call asks again.
    this.version ??= this.docker.version().then((v) => String(v.ApiVersion)).catch((err: unknown) => {
      this.version = undefined;
      throw err;
    });
    return this.version;
  }

  async ping(): Promise<void> {
    await this.docker.ping();
  }

  async imageExists(ref: string): Promise<boolean> {
    try {
      await this.docker.getImage(ref).inspect();
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }

  listImages(): Promise<ImageInfo[]> {
    return listImages(this.docker);
  }

  async pullImage(ref: string, opts: PullOptions): Promise<void> {
    const stream = (await this.docker.pull(ref)) as NodeJS.ReadableStream & { destroy?: () => void };
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        stream.destroy?.();
        reject(new Error(`pull of ${ref} exceeded ${opts.timeoutMs} ms`));
      }, opts.timeoutMs);
      this.docker.modem.followProgress(
        stream,
        (err: Error | null) => {
          clearTimeout(timer);
          if (err) reject(err);
          else resolve();
        },
        (ev: { status?: string; progress?: string; id?: string; error?: string }) => {
          if (ev.error) return;
          opts.onProgress?.([ev.id, ev.status, ev.progress].filter(Boolean).join(' '));
        },
      );
    });
  }

  async networkExists(name: string): Promise<boolean> {
    try {
      await this.docker.getNetwork(name).inspect();
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }

  createNetwork(spec: NetworkSpec): Promise<string> { return nets.createNetwork(this.docker, spec); }
  removeNetwork(name: string): Promise<void> { return nets.removeNetwork(this.docker, name); }
  inspectNetwork(name: string): Promise<NetworkInfo | null> { return nets.inspectNetwork(this.docker, name); }
  listNetworks(labels: Record<string, string>): Promise<NetworkInfo[]> { return nets.listNetworks(this.docker, labelFilters(labels)); }
  connect(network: string, containerId: string, aliases?: string[]): Promise<void> { return nets.connect(this.docker, network, containerId, aliases); }
  disconnect(network: string, containerId: string): Promise<void> { return nets.disconnect(this.docker, network, containerId); }
  selfContainerId(): Promise<string | null> { return readSelfContainerId(); }
  createVolume(spec: VolumeSpec): Promise<VolumeInfo> { return vols.createVolume(this.docker, spec); }
  inspectVolume(name: string): Promise<VolumeInfo | null> { return vols.inspectVolume(this.docker, name); }
  listVolumes(labels: Record<string, string>): Promise<VolumeInfo[]> { return vols.listVolumes(this.docker, labelFilters(labels)); }
  removeVolume(name: string): Promise<void> { return vols.removeVolume(this.docker, name); }

  async create(spec: ContainerSpec): Promise<string> {
    const [primary, ...extra] = spec.networks;
    if (!primary) throw new Error('a container needs a network');
    const healthcheck = await this.fastHealthcheck(spec.image);
    const container = await this.docker.createContainer({
      name: spec.name,
      ...(spec.hostname ? { Hostname: spec.hostname } : {}),
      Image: spec.image,
      Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      Labels: spec.labels,
      StopTimeout: spec.stopTimeoutSec,
      ...(healthcheck ? { Healthcheck: healthcheck } : {}),
      HostConfig: {
        // Hardened by construction: nothing here is taken from the request except validated limits.
        NetworkMode: primary,
        Privileged: false,
        SecurityOpt: ['no-new-privileges'],
        CapDrop: ['NET_RAW', 'SYS_CHROOT', 'MKNOD', 'AUDIT_WRITE', 'SETFCAP'],
        Memory: spec.limits.memoryBytes,
        MemorySwap: spec.limits.memoryBytes,
        NanoCpus: spec.limits.nanoCpus,
        PidsLimit: spec.limits.pids,
        RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
        // Docker's init as PID 1: forwards SIGTERM even before the app installs a handler (a
        // stop right after start would otherwise wait the whole stop timeout) and reaps zombies.
        Init: true,
        Binds: [],
        // Named volumes only (the port has no host paths); read-write, no propagation options.
        Mounts: (spec.mounts ?? []).map((m) => ({ Type: 'volume', Source: m.source, Target: m.target, ReadOnly: false })),
        PublishAllPorts: false,
      },
      NetworkingConfig: { EndpointsConfig: { [primary]: {} } },
    });
    // API < 1.44 takes one network at create; the others are joined before the first start.
    try {
      for (const net of extra) await nets.connect(this.docker, net, container.id);
    } catch (err) {
      await container.remove({ force: true }).catch(() => undefined);
      throw err;
    }
    return container.id;
  }

  /** See healthcheckPlan: the image's HEALTHCHECK plus a fast StartInterval where the engine has it. */
  private async fastHealthcheck(image: string): Promise<Record<string, unknown> | undefined> {
    const plan = healthcheckPlan(await this.apiVersion());
    if (!plan.startInterval) return undefined;
    const info = await this.docker.getImage(image).inspect();
    return instanceHealthcheck(plan, info.Config?.Healthcheck as Record<string, unknown> | undefined, this.startIntervalNs);
  }

  async start(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (err) {
      if (statusOf(err) !== 304) throw err; // 304: already running
    }
  }

  async stop(id: string, timeoutSec: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: timeoutSec });
    } catch (err) {
      const s = statusOf(err);
      if (s !== 304 && s !== 404) throw err; // already stopped / already gone
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (err) {
      const s = statusOf(err);
      if (s !== 404 && s !== 409) throw err; // gone, or removal already in progress
    }
  }

  async inspect(idOrName: string): Promise<ContainerInfo | null> {
    try {
      return toContainerInfo(await this.docker.getContainer(idOrName).inspect());
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  async list(labels: Record<string, string>): Promise<ContainerInfo[]> {
    const summaries = await this.docker.listContainers({
      all: true,
      filters: { label: labelFilters(labels) },
    });
    // Most instances of an installation sleep: the list summary says all we need about a stopped
    // one; only running ones are inspected (start time and addresses for the reaper and the gate).
    const infos = await Promise.all(summaries.map((s) => (s.State === 'running' ? this.inspect(s.Id) : summaryInfo(s))));
    return infos.filter((i): i is ContainerInfo => i !== null);
  }

  async networkTxBytes(id: string): Promise<number | null> {
    try {
      // one-shot: one reading, not the two-sample CPU average a plain stream=false waits for.
      const stats = await this.docker.getContainer(id).stats({ stream: false, 'one-shot': true });
      const nets = Object.values(stats.networks ?? {});
      return nets.length ? nets.reduce((sum, n) => sum + (n.tx_bytes ?? 0), 0) : null;
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  async readSocketTable(id: string, image: string, timeoutMs: number): Promise<string> {
    const deadline = AbortSignal.timeout(timeoutMs);
    const probe = await this.docker.createContainer({
      Image: image,
      Entrypoint: ['cat'],
      Cmd: ['/proc/net/tcp', '/proc/net/tcp6'],
      // Not origin=spawner: this is no instance (lists, reconcile and Traefik never see it).
      Labels: { [SOCKET_PROBE_LABEL]: 'true' },
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      HostConfig: {
        // Shares the instance's network namespace: /proc/net/* is that namespace's table. It
        // cannot see the instance's files or processes, and it holds no capability at all.
        NetworkMode: `container:${id}`,
        AutoRemove: true,
        ReadonlyRootfs: true,
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        Privileged: false,
        Memory: 32 * 1024 * 1024,
        MemorySwap: 32 * 1024 * 1024,
        PidsLimit: 8,
        RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      },
    });
    try {
      const stream = (await probe.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream;
      const out: Buffer[] = [];
      const stdout = new PassThrough();
      stdout.on('data', (b: Buffer) => out.push(b));
      this.docker.modem.demuxStream(stream, stdout, new PassThrough().resume());
      const ended = new Promise<void>((resolve, reject) => {
        stream.once('end', () => resolve());
        stream.once('close', () => resolve());
        stream.once('error', reject);
        deadline.addEventListener('abort', () => reject(new Error(`socket table of ${id.slice(0, 12)} not read within ${timeoutMs} ms`)), { once: true });
      });
      await probe.start();
      await ended;
      return Buffer.concat(out).toString('utf8');
    } catch (err) {
      // AutoRemove takes it away once it exits; this is for one that never started or hangs.
      await probe.remove({ force: true }).catch(() => undefined);
      throw err;
    }
  }

  watch(
    labels: Record<string, string>,
    onEvent: (e: RuntimeEvent) => void,
    opts: { signal: AbortSignal; onReconnect?: () => void; onError?: (err: unknown) => void },
  ): void {
    watchWithBackoff({
      connect: async (signal) => {
        const stream = (await this.docker.getEvents({
          filters: { type: ['container'], label: labelFilters(labels) },
          abortSignal: signal,
        } as Docker.GetEventsOptions)) as NodeJS.ReadableStream;
        return stream;
      },
      onLine: (raw) => {
        const ev = toRuntimeEvent(raw);
        if (ev) onEvent(ev);
      },
      signal: opts.signal,
      onReconnect: opts.onReconnect,
      onError: opts.onError,
    });
  }
}
