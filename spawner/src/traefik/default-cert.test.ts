import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  applyDefaultCertificate, DEFAULT_CERT_CN, DEFAULT_CERT_FILE, defaultCertificateConfig, removeDefaultCertificate, selfSignedCertificate, writeDefaultCertificate,
} from './default-cert.js';

describe('selfSignedCertificate', () => {
  const now = new Date('2026-12-01T20:00:00Z');
  const p = selfSignedCertificate(DEFAULT_CERT_CN, now);
  const cert = new X509Certificate(p.certPem);

  it('is a self-signed EC P-256 certificate for its own key', () => {
    expect(cert.subject).toBe(`CN=${DEFAULT_CERT_CN}`);
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(p.keyPem))).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails).toMatchObject({ namedCurve: 'prime256v1' });
  });

  it('is valid from now for ten years, with a positive 16-byte serial', () => {
    expect(new Date(cert.validFrom).toISOString()).toBe('2026-12-01T20:00:00.000Z');
    expect(new Date(cert.validTo).toISOString()).toBe('2036-12-01T20:00:00.000Z');
    expect(cert.serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/);
  });

  it('uses GeneralizedTime for dates from 2050 on', () => {
    const late = new X509Certificate(selfSignedCertificate('x', new Date('2045-01-02T03:04:05Z')).certPem);
    expect(new Date(late.validTo).toISOString()).toBe('2055-01-02T03:04:05.000Z');
  });

  it('is a new key every time', () => {
    expect(selfSignedCertificate().keyPem).not.toBe(p.keyPem);
  });

  it('is accepted by openssl as a well-formed, self-verifying X.509 v3 certificate', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cert-'));
    try {
      const f = join(dir, 'c.pem');
      writeFileSync(f, p.certPem);
      const text = execFileSync('openssl', ['x509', '-in', f, '-noout', '-text'], { encoding: 'utf8' });
      expect(text).toMatch(/Version: 3 \(0x2\)/);
      expect(text).toMatch(/Signature Algorithm: ecdsa-with-SHA256/);
      expect(execFileSync('openssl', ['verify', '-CAfile', f, '-partial_chain', f], { encoding: 'utf8' })).toMatch(/: OK/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('defaultCertificateConfig', () => {
  it("sets the default store's certificate inline (Traefik's certFile/keyFile take the PEM itself)", () => {
    const p = { certPem: '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n', keyPem: 'k' };
    expect(JSON.parse(defaultCertificateConfig(p))).toEqual({
      tls: { stores: { default: { defaultCertificate: { certFile: p.certPem, keyFile: 'k' } } } },
    });
  });
});

describe('writeDefaultCertificate', () => {
  let dir = '';
  afterEach(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('writes one 0600 file with a fresh certificate and leaves no temporary file; remove takes it away', async () => {
    dir = mkdtempSync(join(tmpdir(), 'dyn-'));
    await writeDefaultCertificate(dir);
    expect(readdirSync(dir)).toEqual([DEFAULT_CERT_FILE]);
    const f = join(dir, DEFAULT_CERT_FILE);
    expect(statSync(f).mode & 0o777).toBe(0o600);
    const c = JSON.parse(readFileSync(f, 'utf8')).tls.stores.default.defaultCertificate;
    expect(new X509Certificate(c.certFile).checkPrivateKey(createPrivateKey(c.keyFile))).toBe(true);
    await removeDefaultCertificate(dir);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('applyDefaultCertificate', () => {
  const logged: string[] = [];
  const log = { info: (m: string) => logged.push(m), warn: (m: string) => logged.push(`warn: ${m}`) };
  let dir = '';
  afterEach(() => { if (dir) rmSync(dir, { recursive: true, force: true }); logged.length = 0; });

  it('writes when on, removes when off, does nothing without a directory', async () => {
    dir = mkdtempSync(join(tmpdir(), 'dyn-'));
    await applyDefaultCertificate(dir, true, log);
    expect(readdirSync(dir)).toEqual([DEFAULT_CERT_FILE]);
    await applyDefaultCertificate(dir, false, log);
    expect(readdirSync(dir)).toEqual([]);
    await applyDefaultCertificate('', true, log);
    expect(logged).toEqual(['traefik default certificate written']);
  });

  it('logs a failure instead of failing the start', async () => {
    dir = mkdtempSync(join(tmpdir(), 'dyn-'));
    const file = join(dir, 'not-a-dir');
    writeFileSync(file, '');
    await applyDefaultCertificate(file, true, log);
    expect(logged).toEqual(['warn: traefik default certificate not written']);
  });
});
