/**
 * Docker HEALTHCHECK for the mock app (the image has no curl): exit 0 when
 * GET http://127.0.0.1:$PORT/status answers 200 within 1.5 s, else exit 1.
 */
import { get } from 'node:http';

const TIMEOUT_MS = 1_500;
const port = Number(process.env.PORT ?? '') || 9000;

// A hard deadline covers every stage (connect, headers, body) in one place.
const deadline = setTimeout(() => {
  console.error(`healthcheck: no answer within ${TIMEOUT_MS}ms`);
  process.exit(1);
}, TIMEOUT_MS);

const req = get({ host: '127.0.0.1', port, path: '/status', agent: false }, (res) => {
  res.resume(); // drain; only the status matters
  clearTimeout(deadline);
  if (res.statusCode === 200) process.exit(0);
  console.error(`healthcheck: /status answered ${res.statusCode}`);
  process.exit(1);
});
req.on('error', (err) => {
  console.error(`healthcheck: ${err.message}`);
  process.exit(1);
});
