// The management API (bearer API key): post a message as the `api` channel, inspect a run, decide on or
// cancel waiting work, and list a user's pending jobs.

import { zValidator } from '@hono/zod-validator';
import { WorkflowNotFoundError } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { appendAudit } from '../../audit/chain.js';
import { API_CHANNEL } from '../../channels/api/adapter.js';
import { BadRequestError, NotFoundError } from '../../core/errors.js';
import { toInboundMessage } from '../../core/message-input.js';
import { validationHook } from '../../core/validation.js';
import { jobs } from '../../db/schema.js';
import { acceptMessage } from '../../runs/accept-message.js';
import { approveSignal, cancelSignal, type RunStatus, rejectSignal, statusQuery } from '../../runs/contract.js';
import { parseWaitSeconds } from '../../runs/wait-for-run.js';
import type { ApiDeps, ApiEnv } from '../deps.js';
import { errorBody } from '../errors.js';
import { decisionSchema, postMessageSchema } from '../schemas.js';

export function v1Routes({ temporal, config, database, blobs, metrics, logger, now = () => new Date() }: ApiDeps) {
  const app = new Hono<ApiEnv>();
  const door = { temporal, taskQueue: config.temporal.taskQueue, blobs, metrics, logger };

  app.post('/messages', zValidator('json', postMessageSchema, validationHook), async (c) => {
    const message = toInboundMessage(API_CHANNEL, c.req.valid('json'), now());
    const accepted = await acceptMessage(door, message, {
      transport: 'api',
      requestId: c.get('requestId'),
      waitSeconds: parseWaitSeconds(c.req.query('wait')),
    });
    return c.json(accepted.answer, accepted.httpStatus);
  });

  app.get('/runs/:workflowId', async (c) => {
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

  for (const [action, signal] of [
    ['approve', approveSignal],
    ['reject', rejectSignal],
    ['cancel', cancelSignal],
  ] as const) {
    app.post(`/runs/:workflowId/${action}`, zValidator('json', decisionSchema, validationHook), async (c) => {
      const workflowId = c.req.param('workflowId');
      const principal = c.get('principal');
      const reason = c.req.valid('json').reason;
      try {
        await temporal.workflow.getHandle(workflowId).signal(signal, { by: `api:${principal.keyId}`, reason });
      } catch (error) {
        if (error instanceof WorkflowNotFoundError)
          return c.json(errorBody('not_found', `no running run ${workflowId}`), 404);
        throw error;
      }
      await appendAudit(database.db, {
        actor: `api:${principal.keyId}`,
        action: `run.${action}`,
        target: workflowId,
        detail: { reason: reason?.slice(0, 200) },
      });
      return c.json({ ok: true, workflowId, action }, 202);
    });
  }

  app.get('/jobs', async (c) => {
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
