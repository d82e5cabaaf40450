/** Client commands for revisions: redeploy (a new revision), revisions (history), rollback. */
import type { Command } from 'commander';
import { call, common, keyValues, out, type Common } from './cli-client.js';

interface Revision { revision: number; status: string; image: string; createdBy: string; createdAt: string; failedStep: string | null }

const line = (r: Revision) => [r.revision, r.status, r.image, r.createdBy, r.createdAt, r.failedStep ?? ''].map(String).join('\t');
const HEADER = 'REV\tSTATUS\tIMAGE\tBY\tAT\tFAILED STEP';

export function registerRevisionCommands(program: Command): void {
  common(program.command('redeploy <name>').description('deploy a new revision (start-first: zero downtime); fields not given are kept'))
    .option('--image <image>', 'new image (must match the allowlist)')
    .option('--env <KEY=VALUE>', 'environment variable (repeatable; replaces the whole env)', keyValues)
    .option('--label <KEY=VALUE>', 'label (repeatable; replaces all labels)', keyValues)
    .option('--port <port>', 'container port', (v) => Number(v))
    .option('--idle-timeout <sec>', 'idle timeout in seconds (0 = never)', (v) => Number(v))
    .option('--stop-first', 'stop the old container before starting the new one')
    .action(async (name: string, o: Common & { image?: string; env?: Record<string, string>; label?: Record<string, string>; port?: number; idleTimeout?: number; stopFirst?: boolean }) => {
      const body = {
        image: o.image, envs: o.env, labels: o.label, port: o.port, idleTimeout: o.idleTimeout,
        ...(o.stopFirst ? { strategy: 'stop-first' } : {}),
      };
      const data = (await call(o, 'POST', `/deploy/${encodeURIComponent(name)}/revisions`, body)) as { revision: Revision };
      out(o, data, () => `${HEADER}\n${line(data.revision)}`);
    });
  common(program.command('revisions <name>').description('list the revisions of an instance, newest first')).action(async (name: string, o: Common) => {
    const data = (await call(o, 'GET', `/deploy/${encodeURIComponent(name)}/revisions`)) as { revisions: Revision[] };
    out(o, data, () => [HEADER, ...data.revisions.map(line)].join('\n'));
  });
  common(program.command('rollback <name> <revision>').description('deploy revision <revision>\'s configuration again, as a new revision'))
    .option('--stop-first', 'stop the old container before starting the new one')
    .action(async (name: string, revision: string, o: Common & { stopFirst?: boolean }) => {
      const body = { revision: Number(revision), ...(o.stopFirst ? { strategy: 'stop-first' } : {}) };
      const data = (await call(o, 'POST', `/deploy/${encodeURIComponent(name)}/rollback`, body)) as { revision: Revision };
      out(o, data, () => `${HEADER}\n${line(data.revision)}`);
    });
}
