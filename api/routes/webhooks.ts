import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { z } from 'zod';
import { API_CHANNEL } from '../../channels/api/adapter.js';
import { createRefusalLog } from '../../channels/refusal-log.js';
import { ConduitError, NotFoundError, PayloadTooLargeError } from '../../core/errors.js';
import { acceptMessage, noteIgnored, noteRefused } from '../../runs/accept-message.js';
import { parseWaitSeconds } from '../../runs/wait-for-run.js';
import type { ApiDeps, ApiEnv } from '../deps.js';
import { bodyCeiling } from '../middleware/body-limit.js';
import { defineRoute, jsonContent, serve } from '../route-spec.js';
import { errorSchema, startedRunSchema } from '../schemas.js';

export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

const refusal = (description: string) => ({ description, content: jsonContent(errorSchema) });

/** Public: each platform's own signature, checked by its adapter, is the credential. */
export const webhookRoute = defineRoute({
  method: 'post',
  path: '/webhooks/{channel}',
  'x-permission': 'public',
  summary: "A chat platform's webhook (custom, dingtalk, feishu), verified with that platform's signature",
  request: { params: z.object({ channel: z.string() }) },
  parameters: [
    {
      name: 'wait',
      in: 'query',
      required: false,
      schema: { type: 'number', maximum: 60 },
      description: 'Seconds to wait for the reply (custom channel; platforms are answered at once)',
    },
  ],
  responses: {
    200: { description: 'Acknowledged (duplicate, ignored event, or handshake)' },
    202: { description: 'Run started', content: jsonContent(startedRunSchema) },
    401: refusal('Forged or stale signature, wrong token'),
    404: refusal('Channel not enabled'),
    413: refusal('Body over 1 MiB'),
    503: refusal(
      'The message was not recorded (Temporal is unreachable, or the data disk is nearly full); send it again after Retry-After',
    ),
  },
});

export const webhookRouteList = [webhookRoute];

export function webhookRoutes({
  channels,
  temporal,
  config,
  metrics,
  logger,
  blobs,
  capacity,
  now = () => new Date(),
}: ApiDeps) {
  const app = new OpenAPIHono<ApiEnv>();
  // A flood of forged deliveries must not become a flood of log lines: metrics count each, the log samples.
  const refusalLog = createRefusalLog(logger, {
    perInterval: config.channels.WEBHOOK_REFUSAL_LOG_PER_INTERVAL,
    intervalMs: config.channels.WEBHOOK_REFUSAL_LOG_INTERVAL_SECONDS * 1000,
  });
  const door = {
    temporal,
    taskQueue: config.temporal.taskQueue,
    blobs,
    metrics,
    logger,
    refusalLog,
    capacity,
  };
  // The api channel is in the map so workers can "send" to it, but it takes no webhooks.
  const adapterFor = (name: string) => (name === API_CHANNEL ? undefined : channels.get(name));
  /** Counts and logs a refused delivery: the reason and the channel, never headers or the body. */
  const reject = (c: Context, error: ConduitError) => {
    const name = c.req.param('channel') ?? '';
    // An unknown name comes from the caller: it must not become a metrics label or fill the log.
    const channel = adapterFor(name) ? name : 'unknown';
    noteRefused(door, error, {
      channel,
      transport: 'webhook',
      requestedChannel: name.slice(0, 64),
      requestId: c.get('requestId'),
    });
  };

  const limit = bodyCeiling<ApiEnv>(MAX_WEBHOOK_BODY_BYTES, (c) => {
    const error = new PayloadTooLargeError(`webhook bodies are limited to ${MAX_WEBHOOK_BODY_BYTES} bytes`);
    reject(c, error);
    // The rest of the body is never read, so the connection cannot carry another request: say so, or the
    // client's next request on it fails with a reset.
    c.header('Connection', 'close');
    throw error;
  });

  serve(
    app,
    webhookRoute,
    async (c) => {
      const name = c.req.param('channel');
      const adapter = adapterFor(name);
      if (!adapter) {
        const error = new NotFoundError('this channel is not enabled');
        reject(c, error);
        throw error;
      }
      const requestId = c.get('requestId');
      const headers: Record<string, string> = {};
      c.req.raw.headers.forEach((value, key) => {
        headers[key.toLowerCase()] = value;
      });
      let outcome: Awaited<ReturnType<typeof adapter.receive>>;
      try {
        outcome = await adapter.receive({ headers, body: await c.req.text(), receivedAt: now() });
      } catch (error) {
        if (error instanceof ConduitError) reject(c, error);
        throw error;
      }
      if (outcome.kind === 'respond') {
        metrics.inboundMessages.inc({ channel: name, outcome: 'handshake', reason: '' });
        return c.json(outcome.body as object, outcome.status as 200);
      }
      if (outcome.kind === 'ignore') {
        noteIgnored(door, {
          channel: name,
          transport: 'webhook',
          requestId,
          reason: outcome.reason,
          detail: outcome.detail,
        });
        return c.json({ ok: true, ignored: outcome.reason });
      }
      // The platform dictates its answer and its deadline: never wait there.
      const accepted = await acceptMessage(door, outcome.message, {
        transport: 'webhook',
        requestId,
        waitSeconds: outcome.ack ? undefined : parseWaitSeconds(c.req.query('wait')),
      });
      if (outcome.ack) return c.json(outcome.ack.body as object, outcome.ack.status as 200);
      return c.json(accepted.answer, accepted.httpStatus);
    },
    { middleware: [limit] },
  );
  return app;
}
