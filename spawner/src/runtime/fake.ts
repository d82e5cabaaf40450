/**
 * In-memory ContainerRuntime for unit tests of our own logic. It records every call so tests can
 * assert "zero Docker calls" and "exactly one start", and emits events like the real engine.
 */
import {
  NetworkConflictError,
  type ContainerInfo, type ContainerRuntime, type ContainerSpec, type ImageInfo, type NetworkInfo, type NetworkSpec,
  type RuntimeEvent, type RuntimeEventKind, type VolumeInfo, type VolumeSpec,
} from './types.js';
import { LABEL } from '../traefik/labels.js';
import { FakeVolumes } from './fake-volumes.js';

interface FakeContainer extends ContainerInfo { spec: ContainerSpec; attached: Set<string> }
interface FakeNetwork extends Omit<NetworkInfo, 'members'> { members: Set<string> }

export class FakeRuntime implements ContainerRuntime {
  readonly calls: { op: string; arg?: string }[] = [];
  readonly containers = new Map<string, FakeContainer>();
  images = new Set<string>();
  /** Details listImages() reports per reference in `images` (defaults: no labels, port 9000). */
  imageDetails = new Map<string, Partial<ImageInfo>>();
  /** Networks by name; `spawner` exists from the start (the control network). */
  readonly nets = new Map<string, FakeNetwork>();
  /** Subnets the "engine" refuses as overlapping (another installation's, say). */
  readonly takenSubnets = new Set<string>();
  /** What selfContainerId() answers (a container the test made "the spawner's own"). */
  self: string | null = null;
  /** Health a started container reports: 'none' (no HEALTHCHECK) or 'healthy' after start. */
  healthOnStart: 'none' | 'healthy' = 'none';
  /** Address a started container gets (tests that really probe it point it at 127.0.0.1). */
  startIp?: string;
  failStart = false;
  /** Make the next create() calls fail (engine error), after any volume was made. */
  failCreate = false;
  readonly volumes = new FakeVolumes(() => [...this.containers.values()].map((c) => c.spec));
  private seq = 0;
  private listeners = new Set<(e: RuntimeEvent) => void>();

  constructor() {
    this.addNetwork('spawner');
  }

  /** A network made outside the spawner (the control network, an operator's shared one). */
  addNetwork(name: string, labels: Record<string, string> = {}): void {
    this.nets.set(name, { id: `net-${name}`, name, labels, internal: false, members: new Set() });
  }

  /** A container made outside the spawner (an edge such as Traefik), running. */
  addContainer(name: string, labels: Record<string, string>, networks: string[]): string {
    const id = (++this.seq).toString(16).padStart(64, 'e');
    const spec: ContainerSpec = { name, image: 'x', networks, labels, env: {}, stopTimeoutSec: 1, limits: { memoryBytes: 0, nanoCpus: 0, pids: 0 } };
    this.containers.set(id, { id, name, image: 'x', state: 'running', health: 'none', hasHealthcheck: false, labels, ips: {}, spec, attached: new Set() });
    for (const n of networks) this.attach(n, id);
    return id;
  }

  private attach(network: string, id: string): void {
    const c = this.containers.get(id);
    const n = this.nets.get(network);
    if (!c || !n) throw Object.assign(new Error('no such network or container'), { statusCode: 404 });
    c.attached.add(network);
    n.members.add(id);
    c.ips[network] = this.startIp ?? `10.${this.nets.size % 250}.0.${n.members.size + 1}`;
  }

  private record(op: string, arg?: string) {
    this.calls.push({ op, arg });
  }

  private emit(kind: RuntimeEventKind, c: FakeContainer, health?: RuntimeEvent['health']) {
    const ev: RuntimeEvent = { kind, id: c.id, name: c.name, labels: c.labels, time: Date.now(), health };
    for (const l of this.listeners) l(ev);
  }

  private find(idOrName: string): FakeContainer | undefined {
    return this.containers.get(idOrName) ?? [...this.containers.values()].find((c) => c.name === idOrName);
  }

  async apiVersion() { return '1.41'; }
  async ping() { this.record('ping'); }
  async imageExists(ref: string) { this.record('imageExists', ref); return this.images.has(ref); }
  async listImages(): Promise<ImageInfo[]> {
    this.record('listImages');
    return [...this.images].map((ref, i) => ({
      id: `sha256:${(i + 1).toString(16).padStart(64, '0')}`, refs: [ref], sizeBytes: 1000 + i,
      created: '2026-01-01T00:00:00.000Z', labels: {}, ports: [9000], healthcheck: null,
      ...this.imageDetails.get(ref),
    }));
  }

  async pullImage(ref: string) {
    this.record('pull', ref);
    throw new Error(`pull access denied for ${ref}`);
  }
  async networkExists(name: string) { this.record('networkExists', name); return this.nets.has(name); }

  async createNetwork(spec: NetworkSpec): Promise<string> {
    this.record('createNetwork', spec.name);
    if (this.nets.has(spec.name)) throw Object.assign(new Error('network name in use'), { statusCode: 409 });
    const used = [...this.nets.values()].some((n) => n.subnet === spec.subnet);
    if (spec.subnet && (used || this.takenSubnets.has(spec.subnet))) throw new NetworkConflictError(spec.subnet);
    const id = `net-${spec.name}`;
    this.nets.set(spec.name, { id, name: spec.name, labels: { ...spec.labels }, internal: spec.internal, subnet: spec.subnet, members: new Set() });
    return id;
  }

  async removeNetwork(name: string): Promise<void> {
    this.record('removeNetwork', name);
    const n = this.nets.get(name);
    if (!n) return;
    for (const id of n.members) await this.disconnect(name, id);
    this.nets.delete(name);
  }

  /** `docker network rm` from outside under a stopped member: the member keeps a stale reference. */
  dropNetwork(name: string): void {
    const n = this.nets.get(name);
    if (n && [...n.members].some((id) => this.containers.get(id)?.state === 'running')) throw new Error('network has active endpoints');
    this.nets.delete(name);
  }

  private netInfo(n: FakeNetwork): NetworkInfo {
    return { ...n, labels: { ...n.labels }, members: [...n.members] };
  }

  async inspectNetwork(name: string): Promise<NetworkInfo | null> {
    const n = this.nets.get(name);
    return n ? this.netInfo(n) : null;
  }

  async listNetworks(labels: Record<string, string>): Promise<NetworkInfo[]> {
    this.record('listNetworks');
    return [...this.nets.values()]
      .filter((n) => Object.entries(labels).every(([k, v]) => n.labels[k] === v))
      .map((n) => this.netInfo(n));
  }

  /** Aliases each connect gave, by `${network} ${containerId}`. */
  readonly aliases = new Map<string, string[]>();

  async connect(network: string, containerId: string, aliases: string[] = []): Promise<void> {
    this.record('connect', `${network} ${containerId}`);
    if (aliases.length) this.aliases.set(`${network} ${containerId}`, aliases);
    if (this.containers.get(containerId)?.attached.has(network)) return;
    this.attach(network, containerId);
  }

  async disconnect(network: string, containerId: string): Promise<void> {
    this.record('disconnect', `${network} ${containerId}`);
    const c = this.containers.get(containerId);
    c?.attached.delete(network);
    if (c) delete c.ips[network];
    this.nets.get(network)?.members.delete(containerId);
  }

  async selfContainerId(): Promise<string | null> { return this.self; }
  async createVolume(spec: VolumeSpec): Promise<VolumeInfo> { this.record('createVolume', spec.name); return this.volumes.create(spec); }
  async inspectVolume(name: string): Promise<VolumeInfo | null> { this.record('inspectVolume', name); return this.volumes.copy(name); }
  async listVolumes(labels: Record<string, string>): Promise<VolumeInfo[]> { this.record('listVolumes'); return this.volumes.list(labels); }
  async removeVolume(name: string): Promise<void> { this.record('removeVolume', name); this.volumes.remove(name); }

  async create(spec: ContainerSpec): Promise<string> {
    this.record('create', spec.name);
    if (this.find(spec.name)) throw Object.assign(new Error('name in use'), { statusCode: 409 });
    if (this.failCreate) throw new Error('create failed');
    // A leading f, then the sequence zero-padded: unique (padding with f made 0xf1 collide with 0x1).
    const id = `f${(++this.seq).toString(16).padStart(63, '0')}`;
    const c: FakeContainer = {
      id, name: spec.name, image: spec.image, state: 'created', health: 'none',
      hasHealthcheck: this.healthOnStart !== 'none', labels: spec.labels, ips: {}, spec, attached: new Set(),
    };
    this.containers.set(id, c);
    for (const n of spec.networks) {
      if (!this.nets.has(n)) {
        this.containers.delete(id);
        throw Object.assign(new Error(`network ${n} not found`), { statusCode: 404 });
      }
      this.attach(n, id);
    }
    this.emit('create', c);
    return id;
  }

  async start(id: string) {
    this.record('start', id);
    const c = this.find(id);
    if (!c) throw Object.assign(new Error('no such container'), { statusCode: 404 });
    if (this.failStart) throw new Error('start failed');
    if (c.state === 'running') return;
    const missing = [...c.attached].find((n) => !this.nets.has(n));
    if (missing) throw Object.assign(new Error(`network ${missing} not found`), { statusCode: 404 });
    c.state = 'running';
    this.emit('start', c);
    if (this.healthOnStart === 'healthy') {
      c.health = 'healthy';
      queueMicrotask(() => this.emit('health', c, 'healthy'));
    }
  }

  async stop(id: string) {
    this.record('stop', id);
    const c = this.find(id);
    if (!c || c.state !== 'running') return;
    c.state = 'exited';
    c.health = c.hasHealthcheck ? 'unhealthy' : 'none';
    this.emit('die', c);
    this.emit('stop', c);
  }

  async remove(id: string) {
    this.record('remove', id);
    const c = this.find(id);
    if (!c) return;
    for (const n of c.attached) this.nets.get(n)?.members.delete(c.id);
    this.containers.delete(c.id);
    this.emit('destroy', c);
  }

  async inspect(idOrName: string): Promise<ContainerInfo | null> {
    this.record('inspect', idOrName);
    const c = this.find(idOrName);
    return c ? info(c) : null;
  }

  async list(labels: Record<string, string>): Promise<ContainerInfo[]> {
    // The edge lookup is its own op: tests count the lists of instances.
    this.record(labels[LABEL.edge] ? 'listEdges' : 'list');
    return [...this.containers.values()]
      .filter((c) => Object.entries(labels).every(([k, v]) => c.labels[k] === v))
      .map(info);
  }

  watch(_labels: Record<string, string>, onEvent: (e: RuntimeEvent) => void,
    opts: { signal: AbortSignal; onReconnect?: () => void }): void {
    this.listeners.add(onEvent);
    opts.signal.addEventListener('abort', () => this.listeners.delete(onEvent), { once: true });
    queueMicrotask(() => opts.onReconnect?.());
  }

  /** Calls that reached the "engine", excluding reads tests usually do not care about. */
  mutations(): string[] {
    return this.calls.filter((c) => ['create', 'start', 'stop', 'remove', 'pull', 'createVolume', 'removeVolume'].includes(c.op))
      .map((c) => c.op);
  }

  /** Network calls that changed something, as `op arg`. */
  networkMutations(): string[] {
    return this.calls.filter((c) => ['createNetwork', 'removeNetwork', 'connect', 'disconnect'].includes(c.op))
      .map((c) => `${c.op} ${c.arg ?? ''}`.trim());
  }

  /** Network names a container is attached to. */
  attachedTo(id: string): string[] {
    return [...(this.containers.get(id)?.attached ?? [])].sort();
  }
}

function info(c: FakeContainer): ContainerInfo {
  const { spec: _spec, attached: _attached, ...rest } = c;
  // A stopped container keeps its attachments but has no addresses.
  return { ...rest, labels: { ...c.labels }, ips: c.state === 'running' ? { ...c.ips } : {} };
}
