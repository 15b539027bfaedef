// Recurring messages over the management API: POST /v1/schedules creates a Temporal Schedule whose every tick
// starts a handleMessage run on the `api` channel (a cron expression or a fixed interval), GET lists this
// deployment's schedules or shows one, DELETE removes one. The schedule logic is ingress/message-schedules.ts.
import { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { appendAudit } from '../../audit/chain.js';
import { API_CHANNEL } from '../../channels/api/adapter.js';
import type { InboundMessage } from '../../core/message.js';
import { toInboundMessage } from '../../core/message-input.js';
import {
  createMessageSchedule,
  deleteMessageSchedule,
  describeMessageSchedule,
  listMessageSchedules,
  type MessageSchedule,
} from '../../jobs/message-schedules.js';
import type { ApiDeps, ApiEnv } from '../deps.js';
import { bearer, defineRoute, errorResponses, jsonContent, serve } from '../route-spec.js';
import { errorSchema } from '../schemas.js';
import { bindSender } from '../sender-identity.js';

const idPattern = /^[\w.:@-]{1,128}$/;

export const createScheduleSchema = z
  .object({
    cron: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .optional()
      .describe('A cron expression (5 fields, UTC unless timezone is given), e.g. "0 9 * * MON-FRI"'),
    intervalSeconds: z
      .number()
      .int()
      .min(1)
      .max(366 * 86_400)
      .optional()
      .describe('Run every N seconds'),
    timezone: z.string().min(1).max(64).optional().describe('IANA time zone for cron, e.g. "Asia/Shanghai"'),
    conversation_id: z.string().regex(idPattern),
    conversation_type: z.enum(['direct', 'group']).default('direct'),
    sender: z.object({ id: z.string().regex(idPattern), name: z.string().max(200).optional() }),
    text: z.string().min(1).max(32_000).describe('The message each run handles: a command or free text'),
  })
  .refine((body) => (body.cron === undefined) !== (body.intervalSeconds === undefined), {
    message: 'give exactly one of cron or intervalSeconds',
  })
  .refine((body) => body.timezone === undefined || body.cron !== undefined, {
    message: 'timezone applies to cron schedules only',
  });

/** What the audit log keeps of a new schedule's timing (the text may be personal: it is not kept). */
const timingOf = ({ cron, timezone, intervalSeconds }: z.infer<typeof createScheduleSchema>) => ({
  cron,
  timezone,
  intervalSeconds,
});

/** The API's shape of a schedule: request field names where they mirror the request. */
const view = ({ conversationId, senderId, channel: _channel, ...rest }: MessageSchedule) => ({
  ...rest,
  conversation_id: conversationId,
  sender_id: senderId,
});

/** A message without its id: a schedule's ticks all run under the schedule's own message id. */
const messageTemplate = ({ messageId: _id, ...template }: InboundMessage) => template;

const scheduleParams = z.object({ id: z.string() });
const noSchedule = { description: 'No such schedule', content: jsonContent(errorSchema) };

// A schedule is a message posted again at every tick: whoever may post may schedule.
export const createScheduleRoute = defineRoute({
  method: 'post',
  path: '/v1/schedules',
  'x-permission': 'messages:send',
  summary: 'Create a recurring message (cron or interval) as a Temporal Schedule',
  security: bearer,
  request: { body: { required: true, content: jsonContent(createScheduleSchema) } },
  responses: { 201: { description: 'Created' }, ...errorResponses },
});

export const listSchedulesRoute = defineRoute({
  method: 'get',
  path: '/v1/schedules',
  'x-permission': 'runs:read',
  summary: 'Recurring messages of this deployment',
  security: bearer,
  responses: { 200: { description: 'Schedules' }, ...errorResponses },
});

export const getScheduleRoute = defineRoute({
  method: 'get',
  path: '/v1/schedules/{id}',
  'x-permission': 'runs:read',
  summary: 'One schedule',
  security: bearer,
  request: { params: scheduleParams },
  responses: { 200: { description: 'The schedule' }, 404: noSchedule, ...errorResponses },
});

export const deleteScheduleRoute = defineRoute({
  method: 'delete',
  path: '/v1/schedules/{id}',
  'x-permission': 'messages:send',
  summary: 'Delete a schedule',
  security: bearer,
  request: { params: scheduleParams },
  responses: { 200: { description: 'Deleted' }, 404: noSchedule, ...errorResponses },
});

export const scheduleRouteList = [createScheduleRoute, listSchedulesRoute, getScheduleRoute, deleteScheduleRoute];

export function scheduleRoutes({ temporal, config, database, now = () => new Date() }: ApiDeps) {
  const app = new OpenAPIHono<ApiEnv>();
  const taskQueue = config.temporal.taskQueue;

  serve(app, createScheduleRoute, async (c) => {
    const body = c.req.valid('json');
    const schedule = await createMessageSchedule(temporal, taskQueue, {
      timing: { cron: body.cron, timezone: body.timezone, intervalSeconds: body.intervalSeconds },
      // The message every tick runs, built like POST /v1/messages builds its own; the schedule gives it its id.
      message: messageTemplate(
        toInboundMessage(
          API_CHANNEL,
          body,
          now(),
          await bindSender(database.db, c.get('principal'), API_CHANNEL, body.sender),
        ),
      ),
      createdBy: c.get('principal').keyId,
    });
    await appendAudit(database.db, {
      actor: `api:${c.get('principal').keyId}`,
      action: 'schedule.create',
      target: schedule.id,
      detail: { ...timingOf(body), conversationId: body.conversation_id, senderId: body.sender.id },
    });
    return c.json(view(schedule), 201);
  });

  serve(app, listSchedulesRoute, async (c) =>
    c.json({ schedules: (await listMessageSchedules(temporal, taskQueue)).map(view) }),
  );

  serve(app, getScheduleRoute, async (c) =>
    c.json(view(await describeMessageSchedule(temporal, taskQueue, c.req.param('id')))),
  );

  serve(app, deleteScheduleRoute, async (c) => {
    const id = c.req.param('id');
    await deleteMessageSchedule(temporal, taskQueue, id);
    await appendAudit(database.db, { actor: `api:${c.get('principal').keyId}`, action: 'schedule.delete', target: id });
    return c.json({ ok: true, id });
  });

  return app;
}
