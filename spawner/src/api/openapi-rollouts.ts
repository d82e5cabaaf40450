/** The /rollouts part of the OpenAPI document (api/openapi.ts spreads it in). */
const problem = { $ref: '#/components/responses/Problem' };
const auth = [{ tokenHeader: [] }, { bearer: [] }];
const ok = (schema: object, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } };
const rollout = { $ref: '#/components/schemas/Rollout' };
const transition = (verb: string) => ({
  parameters: [idParam],
  post: { summary: `${verb} a rollout`, security: auth, responses: { 200: ok(rollout), 404: problem, 409: problem } },
});

export const rolloutPaths = {
  '/rollouts': {
    get: { summary: 'Rollouts, newest first (without their instance lists)', security: auth, responses: { 200: ok({ type: 'object', properties: { rollouts: { type: 'array', items: rollout } } }), 401: problem } },
    post: { summary: 'Start a fleet rollout: pull the target once, canary, then waves', security: auth,
      requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/RolloutRequest' } } } },
      responses: { 202: ok(rollout, 'accepted; follow it with GET /rollouts/{id}'), 400: problem, 401: problem, 409: problem, 422: problem } },
  },
  '/rollouts/{id}': { parameters: [idParam], get: { summary: 'A rollout with its progress per instance', security: auth, responses: { 200: ok(rollout), 404: problem } } },
  '/rollouts/{id}/pause': transition('Pause (after the upgrades in flight)'),
  '/rollouts/{id}/resume': transition('Resume a paused'),
  '/rollouts/{id}/abort': transition('Abort (instances not reached are skipped; nothing is undone)'),
};

export const rolloutSchemas = {
  RolloutRequest: { type: 'object', required: ['selector', 'target'], additionalProperties: false, properties: {
    selector: { type: 'object', required: ['image'], additionalProperties: false, properties: { image: { type: 'string', description: 'glob over the current image, e.g. mock-app:*' }, name: { type: 'string', description: 'glob over instance names' } } },
    target: { type: 'object', additionalProperties: false, properties: { image: { type: 'string' }, envs: { type: 'object', additionalProperties: { type: 'string' } } } },
    canary: { type: 'integer', minimum: 0, maximum: 100, default: 1 }, waveSize: { type: 'integer', minimum: 1, maximum: 100, default: 5 },
    waveDelaySec: { type: 'integer', minimum: 0, default: 10 }, maxFailureRatio: { type: 'number', minimum: 0, maximum: 1, default: 0 },
  } },
  Rollout: { type: 'object', required: ['id', 'status'], properties: {
    id: { type: 'integer' }, status: { enum: ['pulling', 'running', 'paused', 'done', 'aborted', 'failed'] }, reason: { type: ['string', 'null'] },
    selector: { type: 'object' }, target: { type: 'object' }, canary: { type: 'integer' }, waveSize: { type: 'integer' }, waveDelaySec: { type: 'integer' }, maxFailureRatio: { type: 'number' },
    createdBy: { type: 'string' }, createdAt: { type: 'string' }, updatedAt: { type: 'string' }, counts: { type: 'object', additionalProperties: { type: 'integer' } },
    instances: { type: 'array', items: { type: 'object', properties: {
      instance: { type: 'string' }, wave: { type: 'integer' }, status: { enum: ['pending', 'upgrading', 'upgraded', 'deferred', 'failed', 'rolled_back', 'skipped'] },
      fromRevision: { type: ['integer', 'null'] }, toRevision: { type: ['integer', 'null'] }, reason: { type: ['string', 'null'] },
    } } },
  } },
};
