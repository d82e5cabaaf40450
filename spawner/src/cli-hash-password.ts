/**
 * `spawner hash-password`: reads a password from the first line of stdin and prints the scrypt
 * hash for the users file, e.g. `echo -n 's3cret' | spawner hash-password --user alice`.
 * stdin rather than an argument, so the password stays out of shell history and `ps`.
 */
import { createInterface } from 'node:readline';
import { hashPassword } from './auth/passwords.js';

export interface HashPasswordOptions {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  /** If given, prints a complete users-file line `username,<hash>`. */
  username?: string;
}

export async function hashPasswordCommand(opts: HashPasswordOptions): Promise<void> {
  const password = await readFirstLine(opts.stdin);
  if (password === undefined || password === '') {
    throw new Error('no password on stdin (pipe it in, e.g. `echo -n pw | spawner hash-password`)');
  }
  if (opts.username !== undefined && !/^[^\s,#][^\s,]{0,127}$/.test(opts.username)) {
    throw new Error('invalid username (empty, too long, or has spaces/commas)');
  }
  const hash = await hashPassword(password);
  opts.stdout.write(opts.username === undefined ? `${hash}\n` : `${opts.username},${hash}\n`);
}

/** First line without its line ending; stops reading there (no need to wait for EOF). */
async function readFirstLine(input: NodeJS.ReadableStream): Promise<string | undefined> {
  const rl = createInterface({ input, crlfDelay: Infinity, terminal: false });
  try {
    for await (const line of rl) return line;
    return undefined;
  } finally {
    rl.close();
  }
}
