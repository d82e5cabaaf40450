import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { verifyPassword } from './auth/passwords.js';
import { hashPasswordCommand } from './cli-hash-password.js';

async function run(input: string, username?: string): Promise<string> {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  await hashPasswordCommand({ stdin: Readable.from([input]), stdout, username });
  return out;
}

describe('hashPasswordCommand', () => {
  it('hashes the first line of stdin', async () => {
    const out = await run('s3cret pass\r\nsecond line\n');
    expect(out).toMatch(/^scrypt\$[^\n]+\n$/);
    expect(out).not.toContain('s3cret');
    expect(await verifyPassword('s3cret pass', out.trim())).toBe(true);
  });

  it('accepts input without a trailing newline, and prints a users-file line on request', async () => {
    const out = await run('pw', 'alice');
    const [user, hash] = out.trim().split(',') as [string, string];
    expect(user).toBe('alice');
    expect(await verifyPassword('pw', hash)).toBe(true);
  });

  it('refuses an empty password and a bad username', async () => {
    await expect(run('')).rejects.toThrow(/no password/);
    await expect(run('\nsecond')).rejects.toThrow(/no password/);
    await expect(run('pw', 'a,b')).rejects.toThrow(/invalid username/);
  });
});
