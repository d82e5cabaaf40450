/**
 * Each instance's own network: only the instance and the edge containers (Traefik's data plane,
 * the spawner's probes) join it, so from inside an instance there is no other instance to reach.
 * The spawner and Traefik's API listen on their control-network addresses only (see main.ts,
 * compose), so on an instance network the edges answer nothing but Traefik's public entrypoint.
 */
import { SpawnerError } from '../errors.js';
import { errorMessage } from '../log.js';
import { edgeAliases, edgeLabels, networkLabels, ownershipLabels, LABEL } from '../traefik/labels.js';
import { NetworkConflictError, type NetworkInfo } from '../runtime/types.js';
import { instanceNetworkName, type InstanceDeps } from './deps.js';
import { candidates, parsePool, type Pool } from './subnets.js';

export interface Edge { id: string; on: ReadonlySet<string>; aliases: string[] }

/** Overlaps with other installations' networks tried before giving up on one deploy. */
const SUBNET_TRIES = 32;

export class InstanceNetworks {
  private readonly pool: Pool | null;
  /** Subnets of this installation's networks (from creates and rescans): never tried. */
  private readonly used = new Set<string>();

  constructor(private readonly d: InstanceDeps) {
    this.pool = d.cfg.instanceSubnets ? parsePool(d.cfg.instanceSubnets, d.cfg.instanceSubnetPrefix) : null;
  }

  nameFor(instance: string): string {
    return instanceNetworkName(this.d.cfg, instance);
  }

  /**
   * The running edge containers: labelled `spawner.edge=true` with our id, plus the spawner's own
   * container; with the networks each is on now.
   */
  async edges(): Promise<Edge[]> {
    const [listed, selfId] = await Promise.all([
      this.d.runtime.list(edgeLabels(this.d.spawnerId)),
      this.d.runtime.selfContainerId(),
    ]);
    const self = selfId && !listed.some((c) => c.id === selfId) ? await this.d.runtime.inspect(selfId) : null;
    return [...listed, ...(self ? [self] : [])]
      .filter((c) => c.state === 'running')
      .map((c) => ({ id: c.id, on: new Set(Object.keys(c.ips)), aliases: edgeAliases(c.labels) }));
  }

  /**
   * Creates the instance's network and connects the edges, BEFORE the instance exists: Traefik
   * must be on it when the router appears. A network of ours left by a crash is reused.
   */
  async create(instance: string, egress: boolean): Promise<string> {
    const name = this.nameFor(instance);
    const existing = await this.d.runtime.inspectNetwork(name);
    if (existing && existing.labels[LABEL.id] !== this.d.spawnerId) {
      throw new SpawnerError('conflict', `a network named ${name} already exists and is not this spawner's`, 'name');
    }
    if (!existing) await this.createWithSubnet(name, instance, egress);
    await this.connectEdges(name, await this.edges());
    return name;
  }

  private async createWithSubnet(name: string, instance: string, egress: boolean): Promise<void> {
    const spec = { name, labels: networkLabels(this.d.spawnerId, instance), internal: !egress };
    if (!this.pool) {
      await this.d.runtime.createNetwork(spec);
      return;
    }
    for (const subnet of candidates(this.pool, instance, this.used, SUBNET_TRIES)) {
      this.used.add(subnet);
      try {
        await this.d.runtime.createNetwork({ ...spec, subnet });
        return;
      } catch (err) {
        if (!(err instanceof NetworkConflictError)) {
          this.used.delete(subnet);
          throw err;
        }
      }
    }
    throw new SpawnerError('runtime_unavailable', `no free subnet for the instance network in ${this.d.cfg.instanceSubnets}`, undefined, 30);
  }

  /** In parallel: each connect is a veth pair and a namespace change in another container. */
  async connectEdges(network: string, edges: Edge[]): Promise<void> {
    await Promise.all(edges.filter((e) => !e.on.has(network)).map((e) => this.d.runtime.connect(network, e.id, e.aliases)));
  }

  async remove(instance: string): Promise<void> {
    const name = this.nameFor(instance);
    const info = await this.d.runtime.inspectNetwork(name);
    if (!info || info.labels[LABEL.id] !== this.d.spawnerId) return;
    await this.d.runtime.removeNetwork(name);
    if (info.subnet) this.used.delete(info.subnet);
  }

  /** This installation's instance networks (and remembers their subnets). */
  async owned(): Promise<NetworkInfo[]> {
    const nets = (await this.d.runtime.listNetworks(ownershipLabels(this.d.spawnerId))).filter((n) => n.labels[LABEL.instance]);
    for (const n of nets) if (n.subnet) this.used.add(n.subnet);
    return nets;
  }

  /**
   * A network removed outside (a stopped container's; Docker refuses while one runs): make it
   * again and put the container back on it, dropping its stale reference first.
   */
  async repair(instance: string, containerId: string, egress: boolean): Promise<void> {
    const name = this.nameFor(instance);
    await this.d.runtime.disconnect(name, containerId).catch((err) => this.d.log.debug('stale network reference', { error: errorMessage(err) }));
    await this.create(instance, egress);
    await this.d.runtime.connect(name, containerId);
  }
}
