import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initCredentials } from './init-credentials.js';
import { loadUsersFile, verifyLogin } from './users.js';

const dir = () => mkdtempSync(join(tmpdir(), 'init-cred-'));

describe('spawner init-credentials', () => {
  it('creates a users file with one scrypt user and a token file, and prints the password once', async () => {
    const d = dir();
    const lines: string[] = [];
    const usersFile = join(d, 'sub', 'users.txt');
    const tokenFile = join(d, 'sub', 'service-token');
    expect(await initCredentials({ usersFile, tokenFile, username: 'admin', out: (l) => lines.push(l) })).toEqual({ createdUsers: true, createdToken: true });
    const password = /password '([^']+)'/.exec(lines[0]!)?.[1];
    expect(password).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(readFileSync(usersFile, 'utf8')).not.toContain(password!);
    expect(await verifyLogin(loadUsersFile(usersFile), 'admin', password!)).toBe(true);
    expect(statSync(usersFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(tokenFile, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o644);
  });

  it('leaves existing files alone and prints nothing about them', async () => {
    const d = dir();
    const usersFile = join(d, 'users.txt');
    const tokenFile = join(d, 'token');
    writeFileSync(usersFile, 'alice,abc\n');
    writeFileSync(tokenFile, 'mine\n');
    const lines: string[] = [];
    expect(await initCredentials({ usersFile, tokenFile, username: 'admin', out: (l) => lines.push(l) })).toEqual({ createdUsers: false, createdToken: false });
    expect(lines).toEqual([]);
    expect(readFileSync(usersFile, 'utf8')).toBe('alice,abc\n');
    expect(readFileSync(tokenFile, 'utf8')).toBe('mine\n');
  });

  it('does nothing for paths that are not configured', async () => {
    expect(await initCredentials({ username: 'admin', out: () => undefined })).toEqual({ createdUsers: false, createdToken: false });
  });
});
