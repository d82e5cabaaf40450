/**
 * `spawner init-credentials`: what lets `docker compose up` be the first command. It creates the
 * users file and the service token file named by SPAWNER_USERS_FILE / SPAWNER_SERVICE_TOKEN_FILE
 * when (and only when) they do not exist: one user with a random password (salted scrypt; the
 * password is printed once, never stored in clear) and a random token. Existing files are never
 * read, changed or printed, so a deployment with its own credentials is untouched.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { hashPassword } from './passwords.js';

export interface InitCredentialsOptions {
  usersFile?: string;
  tokenFile?: string;
  username: string;
  out: (line: string) => void;
}

export async function initCredentials(o: InitCredentialsOptions): Promise<{ createdUsers: boolean; createdToken: boolean }> {
  let createdUsers = false;
  let createdToken = false;
  if (o.usersFile && !existsSync(o.usersFile)) {
    const password = randomBytes(12).toString('base64url');
    mkdirSync(dirname(o.usersFile), { recursive: true });
    // wx: never overwrite a file that appeared meanwhile (two starts racing).
    writeFileSync(o.usersFile, `# written by spawner init-credentials\n${o.username},${await hashPassword(password)}\n`, { mode: 0o600, flag: 'wx' });
    o.out(`created users file ${o.usersFile}: user '${o.username}', password '${password}' (shown only now; it is not stored in clear)`);
    createdUsers = true;
  }
  if (o.tokenFile && !existsSync(o.tokenFile)) {
    mkdirSync(dirname(o.tokenFile), { recursive: true });
    // 0644: the home app reads it under its own uid; keep the directory (or volume) private instead.
    writeFileSync(o.tokenFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o644, flag: 'wx' });
    o.out(`created service token file ${o.tokenFile}`);
    createdToken = true;
  }
  return { createdUsers, createdToken };
}
