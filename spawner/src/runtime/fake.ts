/**
 * In-memory ContainerRuntime for unit tests of our own logic. It records every call so tests can
 * assert "zero Docker calls" and "exactly one start", and emits events like the real engine.
 */
import type {
  ContainerInfo, ContainerRuntime, ContainerSpec, RuntimeEvent, RuntimeEventKind,
} from './types.js';

interface FakeContainer extends ContainerInfo { spec: ContainerSpec }

export class FakeRuntime implements ContainerRuntime {
  readonly calls: { op: string; arg?: string }[] = [];
  readonly containers = new Map<string, FakeContainer>();
  images = new Set<string>();
  networks = new Set<string>(['spawner']);
  /** Health a started container reports: 'none' (no HEALTHCHECK) or 'healthy' after start. */
  healthOnStart: 'none' | 'healthy' = 'none';
  /** Address a started container gets (tests that really probe it point it at 127.0.0.1). */
  startIp?: string;
  failStart = false;
  private seq = 0;
  private listeners = new Set<(e: RuntimeEvent) => void>();

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
  async pullImage(ref: string) {
    this.record('pull', ref);
    throw new Error(`pull access denied for ${ref}`);
  }
  async networkExists(name: string) { this.record('networkExists', name); return this.networks.has(name); }

  async create(spec: ContainerSpec): Promise<string> {
    this.record('create', spec.name);
    if (this.find(spec.name)) throw Object.assign(new Error('name in use'), { statusCode: 409 });
    const id = (++this.seq).toString(16).padStart(64, 'f');
    const c: FakeContainer = {
      id, name: spec.name, image: spec.image, state: 'created', health: 'none',
      hasHealthcheck: this.healthOnStart !== 'none', labels: spec.labels, ips: {}, spec,
    };
    this.containers.set(id, c);
    this.emit('create', c);
    return id;
  }

  async start(id: string) {
    this.record('start', id);
    const c = this.find(id);
    if (!c) throw Object.assign(new Error('no such container'), { statusCode: 404 });
    if (this.failStart) throw new Error('start failed');
    if (c.state === 'running') return;
    c.state = 'running';
    c.ips = { [c.spec.network]: this.startIp ?? `10.0.0.${this.seq % 250}` };
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
    this.containers.delete(c.id);
    this.emit('destroy', c);
  }

  async inspect(idOrName: string): Promise<ContainerInfo | null> {
    this.record('inspect', idOrName);
    const c = this.find(idOrName);
    return c ? { ...c, labels: { ...c.labels }, ips: { ...c.ips } } : null;
  }

  async list(labels: Record<string, string>): Promise<ContainerInfo[]> {
    this.record('list');
    return [...this.containers.values()]
      .filter((c) => Object.entries(labels).every(([k, v]) => c.labels[k] === v))
      .map((c) => ({ ...c }));
  }

  watch(_labels: Record<string, string>, onEvent: (e: RuntimeEvent) => void,
    opts: { signal: AbortSignal; onReconnect?: () => void }): void {
    this.listeners.add(onEvent);
    opts.signal.addEventListener('abort', () => this.listeners.delete(onEvent), { once: true });
    queueMicrotask(() => opts.onReconnect?.());
  }

  /** Calls that reached the "engine", excluding reads tests usually do not care about. */
  mutations(): string[] {
    return this.calls.filter((c) => ['create', 'start', 'stop', 'remove', 'pull'].includes(c.op))
      .map((c) => c.op);
  }
}
