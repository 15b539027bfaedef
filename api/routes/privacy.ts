// Data protection over the management API (admin): run the retention purge now, export one chat user's data,
// erase it. Every call is in the audit log with the admin who made it; erasure can require a second admin
// (PRIVACY_ERASURE_TWO_PERSON). The rules are privacy/*.ts.
import { randomUUID } from 'node:crypto';
import { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { appendAudit } from '../../audit/chain.js';
import { BadRequestError } from '../../core/errors.js';
import { validationHook } from '../../core/validation.js';
import { approveErasure } from '../../privacy/erasure-approval.js';
import { RETENTION_CLASSES, type RetentionPurgeInput } from '../../privacy/retention-classes.js';
import { retentionScheduleId } from '../../privacy/retention-schedule.js';
import { eraseUserData, exportUserData, type UserRef, userTarget } from '../../privacy/user-data.js';
import type { ApiDeps, ApiEnv } from '../deps.js';
import { bearer, defineRoute, errorResponses, jsonContent, serve } from '../route-spec.js';

export const purgeRequestSchema = z.object({
  classes: z.array(z.enum(RETENTION_CLASSES)).min(1).optional().describe('Only these data classes (default: all)'),
});

const userParams = z.object({ channel: z.string(), userId: z.string() });

export const purgeRoute = defineRoute({
  method: 'post',
  path: '/v1/privacy/purge',
  'x-permission': 'privacy:manage',
  summary: 'Run the retention purge now (admin)',
  security: bearer,
  request: { body: { content: jsonContent(purgeRequestSchema) } },
  responses: { 202: { description: 'The purge run started' }, ...errorResponses },
});

export const exportUserRoute = defineRoute({
  method: 'get',
  path: '/v1/privacy/users/{channel}/{userId}/export',
  'x-permission': 'privacy:manage',
  summary: "Export one user's data as JSON (admin, audit-logged)",
  security: bearer,
  request: { params: userParams },
  responses: { 200: { description: 'The export' }, ...errorResponses },
});

export const eraseUserRoute = defineRoute({
  method: 'delete',
  path: '/v1/privacy/users/{channel}/{userId}',
  'x-permission': 'privacy:manage',
  summary: "Erase one user's data across database, object store and histories (admin, audit-logged)",
  security: bearer,
  request: { params: userParams },
  responses: {
    200: { description: 'What was erased' },
    202: { description: 'Recorded; a second administrator must make the same request (PRIVACY_ERASURE_TWO_PERSON)' },
    ...errorResponses,
  },
});

export const privacyRouteList = [purgeRoute, exportUserRoute, eraseUserRoute];

export function privacyRoutes({ config, database, blobs, temporal }: ApiDeps) {
  const app = new OpenAPIHono<ApiEnv>();
  const db = database.db;
  const taskQueue = config.temporal.taskQueue;
  const userData = { db, blobs, temporal, namespace: config.temporal.namespace, taskQueue };
  const actorOf = (c: { get(key: 'principal'): { keyId: string } }) => `api:${c.get('principal').keyId}`;
  const userOf = (c: { req: { param(name: string): string | undefined } }): UserRef => {
    const channel = c.req.param('channel') ?? '';
    const userId = c.req.param('userId') ?? '';
    if (!/^[\w-]{1,64}$/.test(channel) || userId.length === 0 || userId.length > 256) {
      throw new BadRequestError('expected /users/<channel>/<user id>');
    }
    return { channel, userId };
  };

  // The body is optional, so the handler reads it; the schema validates what it read.
  serve(
    app,
    purgeRoute,
    async (c) => {
      // The body is optional: no body purges every class.
      const raw = (await c.req.text()).trim();
      let json: unknown;
      try {
        json = raw === '' ? {} : JSON.parse(raw);
      } catch {
        throw new BadRequestError('body: expected JSON');
      }
      const parsed = purgeRequestSchema.safeParse(json);
      validationHook(parsed);
      const actor = actorOf(c);
      const input: RetentionPurgeInput = { trigger: actor, classes: parsed.data?.classes };
      const workflowId = `${retentionScheduleId(taskQueue)}:manual:${randomUUID()}`;
      await temporal.workflow.start('retentionPurge', {
        taskQueue,
        workflowId,
        args: [input],
        staticSummary: `retention purge, on demand by ${actor}${input.classes ? ` (${input.classes.join(', ')})` : ''}`,
      });
      await appendAudit(db, { actor, action: 'retention.purge.request', target: workflowId, detail: { ...input } });
      return c.json({ workflowId, statusUrl: `/v1/runs/${encodeURIComponent(workflowId)}` }, 202);
    },
    { bodyReadBy: 'handler' },
  );

  serve(app, exportUserRoute, async (c) => {
    const user = userOf(c);
    const data = await exportUserData(userData, user);
    await appendAudit(db, {
      actor: actorOf(c),
      action: 'privacy.export',
      target: userTarget(user),
      detail: { runs: data.runs.length, messages: data.messages.length, jobs: data.jobs.length },
    });
    c.header('Content-Disposition', `attachment; filename="conduit-export-${user.channel}.json"`);
    c.header('Cache-Control', 'no-store');
    return c.json(data);
  });

  serve(app, eraseUserRoute, async (c) => {
    const user = userOf(c);
    const actor = actorOf(c);
    let requestedBy: string | undefined;
    if (config.privacy.erasureTwoPerson) {
      const approval = await approveErasure(db, userTarget(user), actor);
      if (!approval.approved) {
        return c.json(
          {
            status: 'awaiting_second_admin',
            message: 'Recorded. A different administrator must make the same request to erase this data.',
            expiresAt: approval.expiresAt.toISOString(),
          },
          202,
        );
      }
      requestedBy = approval.requestedBy;
    }
    const deleted = await eraseUserData(userData, user, { actor, detail: requestedBy ? { requestedBy } : {} });
    return c.json({ status: 'erased', user, deleted });
  });

  return app;
}
