/**
 * A default TLS certificate for Traefik's `default` store, written into its file provider's
 * directory at start-up.
 *
 * Why: with no default certificate configured, Traefik 3.6 generates a fresh self-signed RSA-2048
 * one on *every* dynamic configuration change (pkg/tls/tlsmanager.go, "No default certificate,
 * fallback to the internal generated certificate"). Each instance start, health change and stop is
 * such a change, so every wake waited for an RSA key generation (40–200 ms of CPU, measured with
 * `docker logs -t` on Traefik at debug level) before its route appeared, and a busy fleet kept a
 * core of Traefik's busy. With a default certificate present the key is made once, here.
 *
 * The certificate is self-signed (EC P-256, a new key on every start, CN "Spawner default
 * certificate"): it is what Traefik's generated one was, the fallback for a TLS client whose SNI
 * matches no configured certificate, trusted by nobody. Operators who configure their own default
 * certificate turn this off (traefikDefaultCertificate=false), or Traefik sees two.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const DEFAULT_CERT_FILE = 'spawner-default-certificate.yml';
export const DEFAULT_CERT_CN = 'Spawner default certificate';
const VALID_YEARS = 10;

// --- a minimal DER writer: just what one self-signed X.509 v3 certificate needs --------------
function tlv(tag: number, body: Buffer): Buffer {
  const n = body.length;
  const len = n < 0x80 ? Buffer.from([n])
    : n < 0x100 ? Buffer.from([0x81, n])
      : Buffer.from([0x82, n >> 8, n & 0xff]); // < 64 KiB: plenty for one certificate
  return Buffer.concat([Buffer.from([tag]), len, body]);
}
const seq = (...parts: Buffer[]) => tlv(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]) => tlv(0x31, Buffer.concat(parts));
const oid = (hex: string) => tlv(0x06, Buffer.from(hex, 'hex'));
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const bitString = (b: Buffer) => tlv(0x03, Buffer.concat([Buffer.from([0]), b]));
const explicit = (n: number, inner: Buffer) => tlv(0xa0 + n, inner);

const OID_ECDSA_SHA256 = '2a8648ce3d040302'; // 1.2.840.10045.4.3.2
const OID_COMMON_NAME = '550403'; // 2.5.4.3

/** UTCTime before 2050, GeneralizedTime from then on (RFC 5280 4.1.2.5). */
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}

function serial(): Buffer {
  const b = randomBytes(16);
  b[0] = ((b[0] ?? 0) & 0x7f) | 0x40; // positive, 16 bytes, no leading zero
  return tlv(0x02, b);
}

export interface Pem { certPem: string; keyPem: string }

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** A new EC P-256 key and a self-signed certificate for it, valid from now for 10 years. */
export function selfSignedCertificate(cn = DEFAULT_CERT_CN, now = new Date()): Pem {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const name = seq(set(seq(oid(OID_COMMON_NAME), utf8(cn))));
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(now.getUTCFullYear() + VALID_YEARS);
  const algorithm = seq(oid(OID_ECDSA_SHA256));
  const tbs = seq(
    explicit(0, tlv(0x02, Buffer.from([2]))), // v3
    serial(),
    algorithm,
    name,
    seq(time(now), time(notAfter)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign('sha256', tbs, privateKey); // DER-encoded ECDSA signature
  const cert = seq(tbs, algorithm, bitString(signature));
  return { certPem: pem('CERTIFICATE', cert), keyPem: String(privateKey.export({ type: 'pkcs8', format: 'pem' })) };
}

/** Traefik dynamic configuration (JSON is YAML) that makes `p` the default store's certificate. */
export function defaultCertificateConfig(p: Pem): string {
  // certFile/keyFile take a path or the PEM itself; inline, Traefik needs no path into our volume.
  const config = { tls: { stores: { default: { defaultCertificate: { certFile: p.certPem, keyFile: p.keyPem } } } } };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** Writes a fresh default certificate into Traefik's file provider directory, atomically (0600). */
export async function writeDefaultCertificate(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${DEFAULT_CERT_FILE}.${process.pid}.tmp`);
  await writeFile(tmp, defaultCertificateConfig(selfSignedCertificate()), { mode: 0o600 });
  await rename(tmp, join(dir, DEFAULT_CERT_FILE));
}

/** Removes it (the option turned off after an earlier start wrote one). */
export async function removeDefaultCertificate(dir: string): Promise<void> {
  await rm(join(dir, DEFAULT_CERT_FILE), { force: true });
}

/**
 * At start-up: a fresh default certificate when `on` (and Traefik's directory is known), none
 * when off. A failure is logged, not fatal: Traefik then only keeps generating its own.
 */
export async function applyDefaultCertificate(
  dir: string, on: boolean, log: { info(m: string, f?: object): void; warn(m: string, f?: object): void },
): Promise<void> {
  if (!dir) return;
  try {
    if (on) {
      await writeDefaultCertificate(dir);
      log.info('traefik default certificate written', { file: join(dir, DEFAULT_CERT_FILE) });
    } else {
      await removeDefaultCertificate(dir);
    }
  } catch (err) {
    log.warn('traefik default certificate not written', { dir, error: err instanceof Error ? err.message : String(err) });
  }
}
