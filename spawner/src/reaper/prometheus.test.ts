import { describe, expect, it } from 'vitest';
import { instanceOfService, parsePrometheus, parseServiceActivity } from './prometheus.js';

// Shape copied from a running Traefik v3.6 (metrics.prometheus.addServicesLabels=true).
const TRAEFIK_V3 = `# HELP traefik_service_requests_total How many HTTP requests processed on a service, partitioned by status code, protocol, and method.
# TYPE traefik_service_requests_total counter
traefik_service_requests_total{code="200",method="GET",protocol="http",service="spawner-i-m1@docker"} 5
traefik_service_requests_total{code="404",method="POST",protocol="http",service="spawner-i-m1@docker"} 2
traefik_service_requests_total{code="307",method="GET",protocol="http",service="spawner-wake@docker"} 1
traefik_service_requests_total{code="200",method="GET",protocol="websocket",service="spawner-i-m2@docker"} 1e+03
traefik_service_request_duration_seconds_count{code="200",method="GET",protocol="http",service="spawner-i-m1@docker"} 5
traefik_router_requests_total{code="200",method="GET",protocol="http",router="spawner-i-m1@docker",service="spawner-i-m1@docker"} 5
# TYPE traefik_open_connections gauge
traefik_open_connections{entrypoint="web",protocol="TCP"} 3
`;

describe('instanceOfService', () => {
  it.each([
    ['spawner-i-m1@docker', 'm1'],
    ['spawner-i-a-b@docker', 'a-b'],
    ['spawner-i-a_extra@docker', 'a'], // opt-in scoped service of instance a
    ['spawner-i-m1@swarm', 'm1'],
    ['spawner-i-m1', 'm1'],
    ['spawner-switch-m1@file', 'm1'], // a redeploy's switch route: the users' requests meanwhile
    ['spawner-switch-m1__probe@file', null], // only the gate's probe of the new container
    ['spawner-wake@docker', null],
    ['home@docker', null],
    ['spawner-i-@docker', null],
    ['spawner-i-Bad@docker', null],
    ['spawner-i--x@docker', null],
    ['api@internal', null],
    ['', null],
  ])('%s -> %s', (service, expected) => {
    expect(instanceOfService(service)).toBe(expected);
  });
});

describe('parsePrometheus', () => {
  it('reads names, labels (with escapes) and values; skips comments, blanks and junk', () => {
    const text = [
      '# HELP x y', '', 'up 1', 'a_total{k="v",q="say \\"hi\\"\\\\n\\n"} 2.5 1700000000000',
      'b{k="v",} +Inf', 'c{k="unterminated} 1', 'd{k=v} 1', '{k="v"} 1', 'e{k="v"}', 'f NaN',
      'g{ k="v" , l="w" } -3',
    ].join('\n');
    expect(parsePrometheus(text)).toEqual([
      { name: 'up', labels: {}, value: 1 },
      { name: 'a_total', labels: { k: 'v', q: 'say "hi"\\n\n' }, value: 2.5 },
      { name: 'b', labels: { k: 'v' }, value: Infinity },
      { name: 'g', labels: { k: 'v', l: 'w' }, value: -3 },
    ]);
  });

  it('keeps only wanted names when asked', () => {
    expect(parsePrometheus('a 1\nb 2\n', new Set(['b']))).toEqual([{ name: 'b', labels: {}, value: 2 }]);
  });

  it('handles CRLF line ends', () => {
    expect(parsePrometheus('a{x="1"} 1\r\nb 2\r\n').map((s) => s.value)).toEqual([1, 2]);
  });
});

describe('parseServiceActivity', () => {
  it('sums the request counter over codes, methods and protocols per instance; ignores other services and metrics', () => {
    const a = parseServiceActivity(TRAEFIK_V3);
    expect([...a.requests]).toEqual([['m1', 7], ['m2', 1000]]);
    // v3 has no per-service open-connections gauge: the entrypoint gauge is not per instance.
    expect(a.openConnections.size).toBe(0);
  });

  it('reads the v2 per-service open-connections gauge when a Traefik exposes it', () => {
    const a = parseServiceActivity([
      'traefik_service_open_connections{method="GET",protocol="websocket",service="spawner-i-m1@docker"} 1',
      'traefik_service_open_connections{method="GET",protocol="http",service="spawner-i-m1@docker"} 2',
      'traefik_service_open_connections{method="GET",protocol="http",service="spawner-i-m2@docker"} 0',
    ].join('\n'));
    expect([...a.openConnections]).toEqual([['m1', 3], ['m2', 0]]);
    expect(a.requests.size).toBe(0);
  });

  it('keeps every request series of an instance (for the status figures) and Traefik\'s process start', () => {
    const a = parseServiceActivity(`${TRAEFIK_V3}# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds 1.76e+09\n`);
    expect(a.series).toEqual([
      { instance: 'm1', key: 'spawner-i-m1@docker 200 GET http', code: '200', value: 5 },
      { instance: 'm1', key: 'spawner-i-m1@docker 404 POST http', code: '404', value: 2 },
      { instance: 'm2', key: 'spawner-i-m2@docker 200 GET websocket', code: '200', value: 1000 },
    ]);
    expect(a.traefikStartedAt).toBe(1.76e9);
    expect(parseServiceActivity(TRAEFIK_V3).traefikStartedAt).toBeUndefined();
  });

  it('is empty for an empty or foreign exposition', () => {
    expect(parseServiceActivity('').requests.size).toBe(0);
    expect(parseServiceActivity('traefik_service_requests_total{service="other@docker"} 9').requests.size).toBe(0);
    expect(parseServiceActivity('traefik_service_requests_total 9').requests.size).toBe(0);
  });
});
