/** Entry point: env -> config -> spawner client -> express app on PORT, with a clean SIGTERM. */
import { createHomeApp, type Log } from './app.js';
import { ConfigError, loadConfig, type HomeConfig } from './config.js';
import { createSpawnerClient } from './spawner-client.js';

/** One JSON object per line on stdout, like the spawner and the mock app. */
const log: Log = (level, msg, fields = {}) =>
  console.log(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));

function loadConfigOrExit(): HomeConfig {
  try {
    return loadConfig();
  } catch (err) {
    // A bad env is an operator error: say exactly which variable, then stop.
    log('error', err instanceof ConfigError ? err.message : String(err));
    process.exit(1);
  }
}

const config = loadConfigOrExit();

if (!config.spawnerToken) {
  log('warn', 'no SPAWNER_TOKEN or SPAWNER_TOKEN_FILE: deploys will fail unless the spawner has auth disabled');
}

const client = createSpawnerClient({
  baseUrl: config.spawnerApiUrl,
  token: config.spawnerToken,
  timeoutMs: config.spawnerTimeoutMs,
});
const app = createHomeApp({ config, client, log });

const server = app.listen(config.port, (err?: Error) => {
  if (err) {
    log('error', 'cannot listen', { port: config.port, error: err.message });
    process.exit(1);
  }
  // Never log the token itself.
  log('info', 'listening', {
    port: config.port,
    homePath: config.homePath,
    spawnerApiUrl: config.spawnerApiUrl,
    appImage: config.appImage,
    appEnvs: Object.keys(config.appEnvs),
    token: config.spawnerToken ? 'set' : 'missing',
  });
});

function shutdown(signal: string): void {
  log('info', 'shutting down', { signal });
  setTimeout(() => process.exit(0), 5_000).unref();
  server.close(() => process.exit(0));
  server.closeIdleConnections();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
