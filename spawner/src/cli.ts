#!/usr/bin/env node
/** `spawner serve | hash-password | options` and client commands against a running deploy API. */
import { Command, Option } from 'commander';
import { initCredentials } from './auth/init-credentials.js';
import { OPTIONS, envName, flagName, loadConfig, optionsMarkdown, getPath } from './config-options.js';
import { DEFAULTS } from './config.js';
import { startSpawner } from './main.js';
import { hashPasswordCommand } from './cli-hash-password.js';
import { registerClientCommands } from './cli-client.js';
import { registerRevisionCommands } from './cli-revisions.js';
import { registerRolloutCommands } from './cli-rollouts.js';

const program = new Command('spawner').description('Per-user Docker containers behind Traefik, woken on demand');

const serve = program.command('serve').description('run the deploy API (8008) and the wake listener (8000)');
for (const def of OPTIONS) {
  const opt = new Option(`--${flagName(def.path)} <value>`, def.help)
    .env(envName(def.path))
    .default(undefined, JSON.stringify(getPath(DEFAULTS, def.path) ?? ''));
  serve.addOption(opt);
}
serve.action(async (opts: Record<string, string | undefined>) => {
  const flags: Record<string, string | undefined> = {};
  for (const def of OPTIONS) {
    const key = flagName(def.path).replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    flags[def.path] = opts[key];
  }
  let running;
  try {
    running = await startSpawner(loadConfig(process.env, flags));
  } catch (err) {
    process.stderr.write(`spawner: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const stop = () => {
    void running.shutdown().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
});

program.command('hash-password')
  .description('read a password on stdin, print a salted scrypt hash for the users file')
  .option('--username <name>', 'print a whole users-file line for this user')
  .action(async (o: { username?: string }) => {
    await hashPasswordCommand({ stdin: process.stdin, stdout: process.stdout, username: o.username });
  });

program.command('init-credentials')
  .description('create SPAWNER_USERS_FILE (one user, random password printed once) and SPAWNER_SERVICE_TOKEN_FILE when missing')
  .option('--username <name>', 'name of the user to create', 'admin')
  .action(async (o: { username: string }) => {
    await initCredentials({
      usersFile: process.env.SPAWNER_USERS_FILE, tokenFile: process.env.SPAWNER_SERVICE_TOKEN_FILE, username: o.username,
      out: (line) => process.stdout.write(`spawner: ${line}\n`),
    });
  });

program.command('options')
  .description('print every serve option with its env variable and default')
  .option('--markdown', 'as a markdown table')
  .action((o: { markdown?: boolean }) => {
    if (o.markdown) process.stdout.write(`${optionsMarkdown()}\n`);
    else for (const d of OPTIONS) process.stdout.write(`--${flagName(d.path)}  ${envName(d.path)}  ${d.help}\n`);
  });

registerClientCommands(program);
registerRevisionCommands(program);
registerRolloutCommands(program);
program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`spawner: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
