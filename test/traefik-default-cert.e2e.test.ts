/**
 * The spawner gives real Traefik a default certificate (spawner/src/traefik/default-cert.ts):
 * without one, Traefik generates an RSA key on every configuration change, i.e. on every wake's
 * route change. Checked on the wire: a TLS entrypoint added to the stack's Traefik serves the
 * spawner's self-signed certificate, not Traefik's own "TRAEFIK DEFAULT CERT".
 */
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './helpers/stack.js';
import { waitLogLine } from './helpers/lifecycle.js';
import { pollUntil } from './helpers/poll.js';

const TLS_PORT = 8443;
let stack: Stack;
let traefikIp: string;

beforeAll(async () => {
  // Test-only entrypoint, reached on the stack's own network.
  stack = await startStack({ traefikArgs: [`--entrypoints.websecure.address=:${TLS_PORT}`] });
  const info = await stack.traefik.inspect();
  traefikIp = info.NetworkSettings.Networks[stack.network]?.IPAddress ?? '';
  expect(traefikIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
});

afterAll(async () => { await stack?.teardown(); });

/** The certificate Traefik presents for SNI `servername` (none: a client dialling the address). */
function presented(servername?: string): Promise<{ subject: string; keyType: string }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: traefikIp, port: TLS_PORT, servername, rejectUnauthorized: false, timeout: 3_000 }, () => {
      const cert = s.getPeerX509Certificate();
      s.destroy();
      if (!cert) reject(new Error('no peer certificate'));
      else resolve({ subject: cert.subject, keyType: String(cert.publicKey.asymmetricKeyType) });
    });
    s.on('error', reject);
    s.on('timeout', () => { s.destroy(); reject(new Error('TLS handshake timed out')); });
  });
}

describe('Traefik default certificate', () => {
  it('the spawner writes it at start-up into Traefik\'s file provider directory', async () => {
    const line = await waitLogLine(stack, 0, 'traefik default certificate written');
    expect(String(line.file)).toBe('/var/run/spawner-traefik/spawner-default-certificate.yml');
  });

  it('Traefik serves it as the default store\'s certificate', async () => {
    const got = await pollUntil('Traefik presents the spawner default certificate', async () => {
      const p = await presented('no-such-router.example').catch(() => undefined);
      return p?.subject === 'CN=Spawner default certificate' ? p : undefined;
    }, { timeoutMs: 20_000, intervalMs: 200 });
    expect(got.keyType).toBe('ec');
    // The same for a client that sends no name at all.
    expect((await presented()).subject).toBe('CN=Spawner default certificate');
  });
});
