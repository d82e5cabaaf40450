/**
 * Encryption at rest of what instance initialization handles (the caller's payload, the generated
 * credentials, the instance's answer): AES-256-GCM with a random 96-bit nonce per message. The
 * additional data binds a sealed value to its row and purpose, so a value copied into another
 * instance's row (or column) fails to open instead of being handed to the wrong caller.
 *
 * Layout: version byte 1 | nonce (12) | tag (16) | ciphertext.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 1;
const NONCE = 12;
const TAG = 16;
export const KEY_BYTES = 32;

export function seal(key: Buffer, plaintext: string, aad: string): Buffer {
  const nonce = randomBytes(NONCE);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
  return Buffer.concat([Buffer.from([VERSION]), nonce, c.getAuthTag(), ct]);
}

/** Throws on a wrong key, a tampered value or a value sealed for another row/purpose. */
export function open(key: Buffer, sealed: Buffer, aad: string): string {
  if (sealed.length < 1 + NONCE + TAG || sealed[0] !== VERSION) throw new Error('not a sealed value');
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 1 + NONCE));
  d.setAAD(Buffer.from(aad, 'utf8'));
  d.setAuthTag(sealed.subarray(1 + NONCE, 1 + NONCE + TAG));
  return Buffer.concat([d.update(sealed.subarray(1 + NONCE + TAG)), d.final()]).toString('utf8');
}

/**
 * A key is 32 bytes written as 64 hex characters or as base64 (`openssl rand -hex 32`). The error
 * names the option, never the value.
 */
export function parseKey(raw: string, source: string): Buffer {
  const s = raw.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(s) ? Buffer.from(s, 'hex')
    : /^[A-Za-z0-9+/_-]{43}=?$/.test(s) ? Buffer.from(s, 'base64') : null;
  if (!key || key.length !== KEY_BYTES) {
    throw new Error(`${source}: the init key must be 32 bytes, as 64 hex characters or base64 (e.g. \`openssl rand -hex 32\`)`);
  }
  return key;
}
