/**
 * Which user labels a deploy may carry. By default none that Traefik or the spawner reads: the
 * spawner generates all routing labels, so a caller can never attach itself to another router,
 * raise its priority, point a service at another URL or pick another network. With
 * cfg.allowTraefikLabels, a small allowlist of attributes on the instance's OWN objects passes
 * (see traefik-scope.ts); everything else stays forbidden.
 */
import { fail, validateHealthCheck } from './fields.js';
import { checkScopedTraefikLabel } from './traefik-scope.js';
import { isSpawnerKey, isTraefikKey } from '../traefik/labels.js';

/** The original spawner's readiness label; kept as a label and surfaced as `healthCheck`. */
export const HEALTH_CHECK_LABEL = 'health-check';

/** Namespaces Docker reserves for itself (and compose uses to decide what it owns). */
const DOCKER_RESERVED = ['com.docker.', 'io.docker.', 'org.dockerproject.'];

export interface LabelPolicyResult {
  labels: Record<string, string>;
  traefikLabels: Record<string, string>;
  healthCheck?: string;
}

export function applyLabelPolicy(
  input: Record<string, string>, name: string, allowTraefikLabels: boolean,
): LabelPolicyResult {
  const labels: [string, string][] = [];
  const traefikLabels: [string, string][] = [];
  let healthCheck: string | undefined;
  for (const [key, value] of Object.entries(input)) {
    const field = `labels.${key}`;
    const lower = key.toLowerCase();
    if (isSpawnerKey(key)) {
      fail('label_forbidden', field, `label ${key} is reserved: origin and spawner.* mark containers the spawner owns`);
    }
    if (DOCKER_RESERVED.some((p) => lower.startsWith(p))) {
      fail('label_forbidden', field, `label ${key} is in a namespace reserved by Docker`);
    }
    if (isTraefikKey(key)) {
      if (!allowTraefikLabels) {
        fail('label_forbidden', field,
          'Traefik labels (traefik.*) are not accepted: use `port` and `routing`; the spawner generates Traefik labels');
      }
      checkScopedTraefikLabel(key, value, name);
      traefikLabels.push([key, value]);
      continue;
    }
    if (key === HEALTH_CHECK_LABEL) healthCheck = validateHealthCheck(value, field);
    labels.push([key, value]);
  }
  const out: LabelPolicyResult = { labels: Object.fromEntries(labels), traefikLabels: Object.fromEntries(traefikLabels) };
  if (healthCheck !== undefined) out.healthCheck = healthCheck;
  return out;
}
