import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashPassword } from './passwords.js';
import {
  legacyUsers,
  loadUsersFile,
  UsersFileFormatError,
  UsersFileMissingError,
  verifyLogin,
} from './users.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'spawner-users-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function file(text: string): string {
  const p = join(dir, 'users.txt');
  writeFileSync(p, text);
  return p;
}

function loadError(text: string): Error {
  try {
    loadUsersFile(file(text));
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected loadUsersFile to throw');
}

describe('loadUsersFile', () => {
  it('parses users, skipping blanks and comments, tolerating CRLF, BOM and spaces', async () => {
    const scrypt = await hashPassword('pw');
    const p = file(`\uFEFF# users\r\nalice,${sha('a')}\r\n\r\n  # indented comment\n bob , ${scrypt} \n`);
    const users = loadUsersFile(p);
    expect([...users.keys()]).toEqual(['alice', 'bob']);
    expect(users.get('bob')).toBe(scrypt);
    expect(legacyUsers(users)).toEqual(['alice']);
  });

  it('a missing file is a distinct error', () => {
    const p = join(dir, 'nope.txt');
    expect(() => loadUsersFile(p)).toThrow(UsersFileMissingError);
    expect(() => loadUsersFile(p)).toThrow(p);
  });

  it.each([
    ['no comma', `alice ${sha('a')}`, 3],
    ['bad hash', 'alice,0123456789abcdef-not-a-hash-secretish', 3],
    ['empty username', `,${sha('a')}`, 3],
    ['username with space', `al ice,${sha('a')}`, 3],
    ['duplicate', `bob,${sha('c')}`, 3],
  ])('names file and line for %s, without echoing the hash', (_desc, bad, line) => {
    const text = `bob,${sha('b')}\n# comment\n${bad}\n`;
    const err = loadError(text);
    expect(err).toBeInstanceOf(UsersFileFormatError);
    expect(err.message).toContain(`users.txt:${line}:`);
    expect((err as UsersFileFormatError).line).toBe(line);
    for (const secret of [sha('a'), sha('b'), sha('c'), 'secretish']) {
      expect(err.message).not.toContain(secret);
    }
  });
});

describe('verifyLogin', () => {
  it('checks legacy and scrypt users, and refuses unknown users', async () => {
    const users = new Map([
      ['alice', sha('apw')],
      ['bob', await hashPassword('bpw')],
    ]);
    expect(await verifyLogin(users, 'alice', 'apw')).toBe(true);
    expect(await verifyLogin(users, 'alice', 'bpw')).toBe(false);
    expect(await verifyLogin(users, 'bob', 'bpw')).toBe(true);
    expect(await verifyLogin(users, 'bob', 'apw')).toBe(false);
    expect(await verifyLogin(users, 'carol', 'apw')).toBe(false);
  });
});
