import { describe, expect, it } from 'vitest';
import { DEFAULTS, type Config } from './config.js';
import { silentLogger } from './log.js';
import { FakeRuntime } from './runtime/fake.js';
import { Listeners, resolveHosts } from './listen.js';

const cfg = (over: Partial<Config> = {}): Config => ({ ...structuredClone(DEFAULTS), ...over });

describe('where the listeners bind', () => {
  it('auto, in a container on the control network: that address and loopback, never 0.0.0.0', async () => {
    const rt = new FakeRuntime();
    rt.addNetwork('spawner-spawner-alice'); // an instance network the spawner is also on
    rt.self = rt.addContainer('the-spawner', {}, ['spawner', 'spawner-spawner-alice']);
    const control = (await rt.inspect(rt.self))?.ips.spawner;
    expect(await resolveHosts(cfg(), rt, silentLogger)).toEqual({ api: [control, '127.0.0.1'], wake: [control, '127.0.0.1'] });
  });

  it('auto, outside a container (or off the control network): 0.0.0.0, with a warning', async () => {
    const rt = new FakeRuntime();
    expect(await resolveHosts(cfg(), rt, silentLogger)).toEqual({ api: ['0.0.0.0'], wake: ['0.0.0.0'] });
    rt.self = rt.addContainer('elsewhere', {}, []);
    expect((await resolveHosts(cfg(), rt, silentLogger)).api).toEqual(['0.0.0.0']);
  });

  it('an explicit address is used as given', async () => {
    const rt = new FakeRuntime();
    rt.self = rt.addContainer('the-spawner', {}, ['spawner']);
    expect(await resolveHosts(cfg({ apiHost: '127.0.0.1', wakeHost: '0.0.0.0' }), rt, silentLogger)).toEqual({ api: ['127.0.0.1'], wake: ['0.0.0.0'] });
  });

  it('several addresses share one port (port 0: the first picks it)', async () => {
    const l = await Listeners.open((_req, res) => res.end('ok'), ['127.0.0.1', '127.0.0.2'], 0);
    try {
      const ports = l.servers.map((s) => (s.address() as { port: number }).port);
      expect(ports[0]).toBe(ports[1]);
      expect(await (await fetch(`http://127.0.0.2:${ports[0]}/`)).text()).toBe('ok');
    } finally {
      await l.close();
    }
  });
});
