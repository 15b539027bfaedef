// The management API (bearer API key): post a message as the `api` channel, inspect a run, decide on or
// cancel waiting work, list a user's pending jobs, and say who the caller is (GET /v1/whoami).

import { OpenAPIHono } from '@hono/zod-openapi';
import { WorkflowNotFoundError } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { BadRequestError, ForbiddenError, NotFoundError } from '../../core/errors.js';
import { jobs } from '../../db/schema.js';
import { decideRun } from '../../jobs/decide-run.js';
import { type RunStatus, statusQuery } from '../../runs/contract.js';
import { parseWaitSeconds } from '../../runs/wait-for-run.js';
import { sendApiMessage } from '../api-channel-message.js';
import type { ApiDeps, ApiEnv } from '../deps.js';
import { errorBody } from '../errors.js';
import { bearer, defineRoute, errorResponses, jsonContent, serve } from '../route-spec.js';
import { decisionSchema, errorSchema, postMessageSchema, startedRunSchema } from '../schemas.js';

const runParams = z.object({ workflowId: z.string() });

export const postMessageRoute = defineRoute({
  method: 'post',
  path: '/v1/messages',
  'x-permission': 'messages:send',
  summary: 'Send a message as the api channel; starts (or finds) its durable run',
  security: bearer,
  parameters: [
    {
      name: 'wait',
      in: 'query',
      required: false,
      schema: { type: 'number', maximum: 60 },
      description: 'Seconds to wait for the reply',
    },
  ],
  request: { body: { required: true, content: jsonContent(postMessageSchema) } },
  responses: {
    200: { description: 'Duplicate message, or finished within ?wait', content: jsonContent(startedRunSchema) },
    202: { description: 'Run started', content: jsonContent(startedRunSchema) },
    ...errorResponses,
    413: { description: 'Body over 1 MiB', content: jsonContent(errorSchema) },
    503: {
      description:
        'The message was not recorded (Temporal is unreachable, or the data disk is nearly full); send it again after Retry-After',
      content: jsonContent(errorSchema),
    },
  },
});

export const getRunRoute = defineRoute({
  method: 'get',
  path: '/v1/runs/{workflowId}',
  'x-permission': 'runs:read',
  // Whatever is read below a run (its events, say) is read with the same permission.
  'x-permission-subpaths': true,
  summary: "A run's state, current step, intent, plan, tool calls and reply",
  security: bearer,
  request: { params: runParams },
  responses: {
    200: { description: 'The run' },
    404: { description: 'No such run', content: jsonContent(errorSchema) },
    ...errorResponses,
  },
});

const decisionRoute = <A extends 'approve' | 'reject' | 'cancel'>(action: A, summary: string) =>
  defineRoute({
    method: 'post',
    path: `/v1/runs/{workflowId}/${action}`,
    'x-permission': action === 'cancel' ? 'runs:cancel' : 'runs:decide',
    summary,
    security: bearer,
    request: { params: runParams, body: { content: jsonContent(decisionSchema) } },
    responses: {
      202: { description: 'Signal delivered' },
      404: { description: 'No such running run', content: jsonContent(errorSchema) },
      ...errorResponses,
    },
  });

export const decisionRoutes = {
  approve: decisionRoute('approve', 'Approve a waiting run'),
  reject: decisionRoute('reject', 'Reject a waiting run'),
  cancel: decisionRoute('cancel', 'Cancel a waiting run'),
};

export const listJobsRoute = defineRoute({
  method: 'get',
  path: '/v1/jobs',
  'x-permission': 'jobs:read',
  summary: "A user's pending reminders and approvals",
  security: bearer,
  // Checked by the handler, which names both when one is missing.
  parameters: [
    { name: 'owner', in: 'query', required: true, schema: { type: 'string' } },
    { name: 'channel', in: 'query', required: true, schema: { type: 'string' } },
  ],
  responses: { 200: { description: 'Pending jobs' }, ...errorResponses },
});

export const whoamiRoute = defineRoute({
  method: 'get',
  path: '/v1/whoami',
  'x-permission': 'self:read',
  summary: 'The calling principal: key id or JWT subject, and role',
  security: bearer,
  responses: { 200: { description: 'The principal' }, ...errorResponses },
});

export const v1RouteList = [
  postMessageRoute,
  getRunRoute,
  ...Object.values(decisionRoutes),
  listJobsRoute,
  whoamiRoute,
];

export function v1Routes(deps: ApiDeps) {
  const { temporal, database, now = () => new Date() } = deps;
  const app = new OpenAPIHono<ApiEnv>();

  serve(app, whoamiRoute, (c) => c.json({ principal: c.get('principal') }));

  serve(app, postMessageRoute, async (c) => {
    const accepted = await sendApiMessage(deps, c.get('principal'), c.req.valid('json'), {
      now: now(),
      requestId: c.get('requestId'),
      waitSeconds: parseWaitSeconds(c.req.query('wait')),
    });
    return c.json(accepted.answer, accepted.httpStatus);
  });

  serve(app, getRunRoute, async (c) => {
    const workflowId = c.req.param('workflowId');
    const handle = temporal.workflow.getHandle(workflowId);
    try {
      const description = await handle.describe();
      const state = description.status.name;
      const status: RunStatus | undefined =
        state === 'COMPLETED'
          ? await handle.result()
          : state === 'RUNNING'
            ? await handle.query(statusQuery)
            : undefined;
      return c.json({
        workflowId,
        runId: description.runId,
        state,
        startTime: description.startTime,
        closeTime: description.closeTime,
        status,
      });
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw new NotFoundError(`no run ${workflowId}`);
      throw error;
    }
  });

  for (const action of ['approve', 'reject', 'cancel'] as const) {
    serve(app, decisionRoutes[action], async (c) => {
      const workflowId = c.req.param('workflowId');
      const outcome = await decideRun(
        { db: database.db, temporal },
        { workflowId, action, principal: c.get('principal').keyId, reason: c.req.valid('json').reason },
      );
      if (outcome === 'requester')
        throw new ForbiddenError(`you requested this run; a second person has to ${action} it`);
      if (outcome === 'finished') return c.json(errorBody('not_found', `no running run ${workflowId}`), 404);
      return c.json({ ok: true, workflowId, action }, 202);
    });
  }

  serve(app, listJobsRoute, async (c) => {
    const owner = c.req.query('owner');
    const channel = c.req.query('channel');
    if (!owner || !channel) throw new BadRequestError('owner and channel query parameters are required');
    const rows = await database.db
      .select()
      .from(jobs)
      .where(and(eq(jobs.ownerId, owner), eq(jobs.channel, channel), eq(jobs.status, 'pending')))
      .orderBy(jobs.createdAt);
    return c.json({ jobs: rows });
  });

  return app;
}
