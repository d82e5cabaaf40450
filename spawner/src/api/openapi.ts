/** OpenAPI 3.1 description of the deploy API; api/openapi.test.ts checks it matches the routes. */
import { rolloutPaths, rolloutSchemas } from './openapi-rollouts.js';

const problem = { $ref: '#/components/responses/Problem' };
const auth = [{ tokenHeader: [] }, { bearer: [] }];
const nameParam = {
  name: 'nameOrId', in: 'path', required: true,
  description: 'An instance name, or its id or the first 12+ characters of it (a container id; on Swarm a service id)',
  schema: { type: 'string', pattern: '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?|[a-f0-9]{12,64})$' },
};
const instance = { $ref: '#/components/schemas/Instance' };
const revision = { $ref: '#/components/schemas/Revision' };
const revisionResult = { type: 'object', properties: { revision, instance } };
const ok = (schema: object, description = 'OK') => ({ description, content: { 'application/json': { schema } } });

export function openApiDocument() {
  return {
    openapi: '3.1.0',
    info: { title: 'Spawner deploy API', version: '0.1.0', description: 'Private API (port 8008) to create and manage per-user containers.' },
    paths: {
      '/login': { post: {
        summary: 'Exchange username/password for a token',
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['username', 'password'], properties: { username: { type: 'string' }, password: { type: 'string' } } } } } },
        responses: { 200: ok({ type: 'object', properties: { token: { type: 'string' } } }), 401: ok({ type: 'object', properties: { message: { const: 'login invalid' } } }, 'login invalid'), 429: problem },
      } },
      '/deploy': {
        get: { summary: 'List instances', security: auth, responses: { 200: ok({ type: 'object', properties: { instances: { type: 'array', items: instance } } }), 401: problem } },
        post: { summary: 'Create and start an instance', security: auth,
          parameters: [{ name: 'wait', in: 'query', required: false, schema: { enum: ['true', '1'] }, description: 'answer only once the instance is reachable through Traefik (adds `ready`, and `readyError` on failure)' }],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/DeployRequest' } } } },
          responses: { 200: ok({ allOf: [instance, { type: 'object', properties: { cookie: { type: 'object', properties: { name: { type: 'string' }, value: { type: 'string' } } } } }] }), 400: problem, 401: problem, 409: problem, 413: problem, 422: problem } },
      },
      '/deploy/{nameOrId}': {
        parameters: [nameParam],
        get: { summary: 'One instance, with its status (`stats`)', security: auth, responses: { 200: ok({ allOf: [instance, { type: 'object', properties: { stats: { $ref: '#/components/schemas/InstanceStats' } } }] }), 404: problem } },
        put: { summary: 'Start an instance (original API)', security: auth, responses: { 200: ok(instance), 404: problem } },
        delete: { summary: 'Stop and remove an instance; its data volume is kept (retained) unless purge', security: auth,
          parameters: [{ name: 'purge', in: 'query', required: false, schema: { enum: ['true', '1'] }, description: 'also remove the instance\'s data volume' }],
          responses: { 200: ok({ type: 'object', properties: { id: { type: ['string', 'null'] }, name: { type: 'string' }, status: { const: 'removed' }, volume: { type: 'object', properties: { name: { type: 'string' }, status: { enum: ['retained', 'removed'] } } } } }), 404: problem } },
      },
      '/deploy/{nameOrId}/start': { parameters: [nameParam], post: { summary: 'Start an instance', security: auth, responses: { 200: ok(instance), 404: problem } } },
      '/deploy/{nameOrId}/stop': { parameters: [nameParam], post: { summary: 'Stop an instance (keeps it)', security: auth, responses: { 200: ok(instance), 404: problem } } },
      '/deploy/{nameOrId}/init': { parameters: [nameParam],
        get: { summary: 'Init status and, once done, the instance\'s decrypted answer', security: auth, responses: { 200: ok({ $ref: '#/components/schemas/Init' }), 404: problem } },
        post: { summary: 'Run a failed init again (starts the instance, readiness, init); no answer in the body', security: auth, responses: { 200: ok({ $ref: '#/components/schemas/Init' }), 404: problem, 409: problem } } },
      '/deploy/{nameOrId}/identity': { parameters: [nameParam], delete: { summary: 'Revoke the instance\'s identity credential (GET /.spawner/self refuses it)', security: auth, responses: { 200: ok({ type: 'object', properties: { name: { type: 'string' }, identity: { const: 'revoked' }, changed: { type: 'boolean' } } }), 404: problem } } },
      '/deploy/{nameOrId}/events': { parameters: [nameParam], get: { summary: 'Lifecycle events of an instance', security: auth, responses: { 200: ok({ type: 'object' }), 404: problem } } },
      '/deploy/{nameOrId}/revisions': { parameters: [nameParam],
        get: { summary: 'Revisions of an instance, newest first (env values never shown: envKeys)', security: auth, responses: { 200: ok({ type: 'object', properties: { name: { type: 'string' }, revisions: { type: 'array', items: revision } } }), 404: problem } },
        post: { summary: 'Redeploy: a new revision with the fields given (start-first switch without downtime; stopped: created, started at the next wake)', security: auth,
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/RedeployRequest' } } } },
          responses: { 200: ok(revisionResult), 400: problem, 404: problem, 409: problem, 422: problem, 502: problem } } },
      '/deploy/{nameOrId}/rollback': { parameters: [nameParam], post: { summary: 'Roll back: a new revision with revision n\'s configuration, through the same gate and switch', security: auth,
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['revision'], additionalProperties: false, properties: { revision: { type: 'integer', minimum: 1 }, strategy: { enum: ['start-first', 'stop-first'] } } } } } },
        responses: { 200: ok(revisionResult), 400: problem, 404: problem, 409: problem, 422: problem, 502: problem } } },
      '/runtimes': { get: { summary: 'Images a caller may deploy: the allowlist resolved against the engine', security: auth, responses: { 200: ok({ type: 'object', properties: { runtimes: { type: 'array', items: { $ref: '#/components/schemas/Runtime' } } } }), 401: problem, 503: problem } } },
      '/volumes': { get: { summary: 'Managed data volumes: attached to an instance, retained (no instance), or missing (removed outside)', security: auth,
        responses: { 200: ok({ type: 'object', properties: { volumes: { type: 'array', items: { $ref: '#/components/schemas/Volume' } } } }), 401: problem, 503: problem } } },
      '/volumes/{name}': { parameters: [{ name: 'name', in: 'path', required: true, description: 'the instance name', schema: { type: 'string', pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' } }],
        delete: { summary: 'Remove a retained volume (409 while its instance exists)', security: auth, responses: { 200: ok({ type: 'object' }), 404: problem, 409: problem } } },
      '/healthz': { get: { summary: 'Liveness', responses: { 200: ok({ type: 'object' }), 503: ok({ type: 'object' }, 'shutting down') } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
      '/openapi.json': { get: { summary: 'This document', responses: { 200: ok({ type: 'object' }) } } },
      ...rolloutPaths,
    },
    components: {
      securitySchemes: {
        tokenHeader: { type: 'apiKey', in: 'header', name: 'token' },
        bearer: { type: 'http', scheme: 'bearer' },
      },
      responses: {
        Problem: { description: 'RFC 9457 problem', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
      },
      schemas: {
        ...rolloutSchemas,
        Problem: { type: 'object', required: ['type', 'title', 'status', 'code'], properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' }, code: { type: 'string' }, field: { type: 'string' } } },
        Init: { type: 'object', properties: {
          status: { enum: ['pending', 'running', 'done', 'failed'] }, reason: { type: ['string', 'null'] }, path: { type: 'string' },
          when: { enum: ['once', 'every-start'] }, runs: { type: 'integer' }, updatedAt: { type: 'string' }, result: { description: 'the instance\'s JSON answer (GET only, once done)' },
        } },
        Runtime: { type: 'object', required: ['reference', 'present'], properties: {
          reference: { type: 'string', description: 'what to send as `image`' }, present: { type: 'boolean', description: 'false: a deploy pulls it first' },
          id: { type: ['string', 'null'] }, sizeBytes: { type: ['integer', 'null'] }, created: { type: ['string', 'null'] },
          title: { type: ['string', 'null'], description: 'org.opencontainers.image.title' }, description: { type: ['string', 'null'], description: 'org.opencontainers.image.description' },
          version: { type: ['string', 'null'], description: 'org.opencontainers.image.version' }, port: { type: ['integer', 'null'], description: 'first exposed TCP port' },
          ports: { type: 'array', items: { type: 'integer' } },
          healthCheck: { type: ['object', 'null'], properties: { test: { type: 'array', items: { type: 'string' } }, intervalSec: { type: 'number' }, timeoutSec: { type: 'number' }, retries: { type: 'integer' } } },
        } },
        DeployRequest: { type: 'object', required: ['name', 'image'], additionalProperties: false, properties: {
          name: { type: 'string', pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' }, image: { type: 'string' }, network: { type: 'string' }, egress: { type: 'boolean' },
          labels: { type: 'object', additionalProperties: { type: 'string' } }, envs: { type: 'object', additionalProperties: { type: 'string' } },
          port: { type: 'integer', minimum: 1, maximum: 65535 }, routing: { enum: ['cookie', 'host', 'path'] }, public: { type: 'boolean' },
          idleTimeout: { type: 'integer', minimum: 0 }, healthCheck: { type: 'string', format: 'uri' },
          limits: { type: 'object', properties: { memoryMb: { type: 'number' }, cpus: { type: 'number' }, pids: { type: 'integer' } } },
          strategy: { enum: ['start-first', 'stop-first'], description: 'how later redeploys replace the container (default start-first)' },
          init: { type: 'object', additionalProperties: false, required: ['path'], description: 'POSTed to on the instance after its first readiness (needs SPAWNER_INIT_KEY)', properties: {
            path: { type: 'string', pattern: '^/' }, payload: { type: 'object' }, when: { enum: ['once', 'every-start'] }, deadlineSec: { type: 'integer', minimum: 1, maximum: 3600 } } },
          volume: { type: 'object', additionalProperties: false, description: 'a managed data volume, named by the spawner after the instance (default per image: SPAWNER_VOLUME_DEFAULTS)', properties: {
            path: { type: 'string', pattern: '^(/[A-Za-z0-9._-]+)+$', maxLength: 200, description: 'mount path; not under /proc, /sys, /dev; optional when the operator set a default' },
            reuse: { type: 'boolean', description: 'mount the retained volume of an earlier instance of this name (refused with volume_retained otherwise)' } } },
        } },
        Volume: { type: 'object', required: ['instance', 'name', 'status'], properties: {
          instance: { type: 'string' }, name: { type: 'string' }, status: { enum: ['attached', 'retained', 'missing'] },
          path: { type: ['string', 'null'] }, createdAt: { type: ['string', 'null'] } } },
        InstanceStats: { type: 'object', description: 'what the instance served (from Traefik\'s per-service counters, read by the idle reaper every SPAWNER_IDLE_CHECK_SEC; never going down across Traefik restarts) and its wakes (from the wake records)', properties: {
          asOf: { type: ['string', 'null'], description: 'when Traefik\'s counters were last read: the request figures are as of then' },
          requests: { type: 'integer', description: 'requests Traefik completed for the instance (the wake gate\'s probe through Traefik included)' },
          responses: { type: 'object', description: 'responses by HTTP status class; `other`: a code outside 100-599 (Traefik says 0 for an aborted request)', properties: Object.fromEntries(['1xx', '2xx', '3xx', '4xx', '5xx', 'other'].map((c) => [c, { type: 'integer' }])) },
          lastRequestAt: { type: ['string', 'null'], description: 'the reaper round that first saw the newest request' },
          startedAt: { type: ['string', 'null'], description: 'start of the running container; null when not running' }, uptimeSec: { type: ['integer', 'null'] },
          wakes: { type: 'object', properties: {
            count: { type: 'integer', description: 'wakes that started the container' }, failed: { type: 'integer' }, lastAt: { type: ['string', 'null'] },
            lastMs: { type: ['number', 'null'] }, medianMs: { type: ['number', 'null'], description: 'over the newest 100 wakes' } } },
        } },
        RedeployRequest: { type: 'object', additionalProperties: false, description: 'fields not sent keep the active revision\'s value; name, routing, public, network, egress and init never change', properties: {
          image: { type: 'string' }, envs: { type: 'object', additionalProperties: { type: 'string' } }, labels: { type: 'object', additionalProperties: { type: 'string' } },
          port: { type: 'integer', minimum: 1, maximum: 65535 }, healthCheck: { type: 'string', format: 'uri' }, idleTimeout: { type: 'integer', minimum: 0 },
          limits: { type: 'object', properties: { memoryMb: { type: 'number' }, cpus: { type: 'number' }, pids: { type: 'integer' } } },
          strategy: { enum: ['start-first', 'stop-first'], description: 'default start-first' },
        } },
        Revision: { type: 'object', required: ['revision', 'status', 'image'], properties: {
          revision: { type: 'integer' }, status: { enum: ['pending', 'active', 'superseded', 'failed'] }, image: { type: 'string' }, imageId: { type: ['string', 'null'] },
          envKeys: { type: 'array', items: { type: 'string' } }, port: { type: 'integer' }, labels: { type: 'object', additionalProperties: { type: 'string' } },
          limits: { type: 'object' }, healthCheck: { type: ['string', 'null'] }, idleTimeout: { type: ['integer', 'null'] }, volume: { type: 'object' },
          createdBy: { type: 'string' }, createdAt: { type: 'string' }, failedStep: { type: ['string', 'null'] }, reason: { type: ['string', 'null'] }, containerId: { type: ['string', 'null'] },
        } },
        Instance: { type: 'object', required: ['id', 'name', 'image', 'status', 'labels'], properties: {
          id: { type: ['string', 'null'] }, name: { type: 'string' }, image: { type: 'string' }, status: { type: 'string' }, health: { type: 'string' },
          labels: { type: 'object', additionalProperties: { type: 'string' } }, network: { type: 'string' }, port: { type: 'integer' },
          routing: { type: 'string' }, public: { type: 'boolean' }, revision: { type: ['integer', 'null'], description: 'the active revision' }, createdAt: { type: 'string' }, lastWakeAt: { type: ['string', 'null'] }, lastActivityAt: { type: ['string', 'null'] },
          init: { type: ['object', 'null'], description: 'init status (never its answer: GET /deploy/{nameOrId}/init)', properties: { status: { enum: ['pending', 'running', 'done', 'failed'] }, reason: { type: ['string', 'null'] } } },
          volume: { type: ['object', 'null'], properties: { path: { type: 'string' }, name: { type: 'string' }, status: { enum: ['attached', 'missing'] } } },
        } },
      },
    },
  };
}
