/**
 * The users file: one `username,<hash>` per line; blank lines and `#` comments ignored.
 * Errors name the file and line but never echo the line, since it may hold a hash.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hashPassword, isLegacyHash, isSupportedHash, verifyPassword } from './passwords.js';

/** The users file does not exist: the caller refuses to start (or suggests --auth-disabled). */
export class UsersFileMissingError extends Error {
  constructor(readonly path: string) {
    super(`users file not found: ${path}`);
    this.name = 'UsersFileMissingError';
  }
}

export class UsersFileFormatError extends Error {
  constructor(readonly path: string, readonly line: number, reason: string) {
    super(`${path}:${line}: ${reason}`);
    this.name = 'UsersFileFormatError';
  }
}

const USERNAME_RE = /^[^\s,#][^\s,]{0,127}$/;

export function loadUsersFile(path: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new UsersFileMissingError(path);
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new Error(`cannot read users file ${path}: ${code}`);
  }
  return parseUsers(text, path);
}

export function parseUsers(text: string, path: string): Map<string, string> {
  const users = new Map<string, string>();
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fail = (reason: string): never => {
      throw new UsersFileFormatError(path, i + 1, reason);
    };
    const comma = line.indexOf(',');
    if (comma < 0) fail('expected "username,<hash>" (no comma found)');
    const username = line.slice(0, comma).trim();
    const hash = line.slice(comma + 1).trim();
    if (!USERNAME_RE.test(username)) {
      fail('invalid username (empty, too long, or has spaces/commas)');
    }
    if (!isSupportedHash(hash)) {
      fail('unrecognised password hash (expected 64 hex sha256 or scrypt$N$r$p$salt$hash)');
    }
    if (users.has(username)) fail(`duplicate username "${username}"`);
    users.set(username, hash);
  });
  return users;
}

/** Names of users still on unsalted sha256 hashes, so start-up can warn about them. */
export function legacyUsers(users: Map<string, string>): string[] {
  return [...users].filter(([, h]) => isLegacyHash(h)).map(([u]) => u);
}

// A real scrypt hash of a random password nobody knows, computed once on first use.
let dummyHash: Promise<string> | undefined;
function dummy(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  return dummyHash;
}

/**
 * Every call costs one default-cost scrypt, whether the user is unknown, on a legacy sha256 hash
 * or on scrypt — so response time does not reveal which usernames exist.
 */
export async function verifyLogin(
  users: Map<string, string>,
  username: string,
  password: string,
): Promise<boolean> {
  const stored = users.get(username);
  if (stored === undefined) {
    await verifyPassword(password, await dummy());
    return false;
  }
  if (isLegacyHash(stored)) {
    const ok = await verifyPassword(password, stored);
    await verifyPassword(password, await dummy()); // pad the fast sha256 path to scrypt cost
    return ok;
  }
  return verifyPassword(password, stored);
}
