// Channel webhooks: the adapter verifies and parses the delivery, the run is started (not awaited), and the
// platform gets its acknowledgement within its deadline. Disabled channels answer 404.
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ConduitError, NotFoundError, PayloadTooLargeError } from '../../core/errors.js';
import { startMessageRun } from '../../ingress/start-message-run.js';
import type { ApiDeps } from '../deps.js';

export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

export function webhookRoutes({ channels, temporal, config, metrics, logger, now = () => new Date() }: ApiDeps) {
  const app = new Hono();
  app.post(
    '/:channel',
    bodyLimit({
      maxSize: MAX_WEBHOOK_BODY_BYTES,
      onError: () => {
        throw new PayloadTooLargeError(`webhook bodies are limited to ${MAX_WEBHOOK_BODY_BYTES} bytes`);
      },
    }),
    async (c) => {
      const name = c.req.param('channel');
      const adapter = channels.get(name);
      if (!adapter) throw new NotFoundError(`channel ${name} is not enabled`);
      const headers: Record<string, string> = {};
      c.req.raw.headers.forEach((value, key) => {
        headers[key.toLowerCase()] = value;
      });
      let outcome: Awaited<ReturnType<typeof adapter.receive>>;
      try {
        outcome = await adapter.receive({ headers, body: await c.req.text(), receivedAt: now() });
      } catch (error) {
        if (error instanceof ConduitError) {
          metrics.inboundMessages.inc({ channel: name, outcome: 'rejected', reason: error.code });
          logger.warn({ channel: name, code: error.code, reason: error.message }, 'webhook delivery rejected');
        }
        throw error;
      }
      if (outcome.kind === 'respond') {
        metrics.inboundMessages.inc({ channel: name, outcome: 'handshake', reason: '' });
        return c.json(outcome.body as object, outcome.status as 200);
      }
      if (outcome.kind === 'ignore') {
        metrics.inboundMessages.inc({ channel: name, outcome: 'ignored', reason: outcome.reason });
        return c.json({ ok: true, ignored: outcome.reason });
      }
      const run = await startMessageRun(temporal, config.temporal.taskQueue, outcome.message);
      metrics.inboundMessages.inc({ channel: name, outcome: run.duplicate ? 'duplicate' : 'accepted', reason: '' });
      logger.info(
        { channel: name, workflowId: run.workflowId, runId: run.runId, duplicate: run.duplicate },
        'message accepted',
      );
      if (outcome.ack) return c.json(outcome.ack.body as object, outcome.ack.status as 200);
      return c.json(
        { ok: true, workflowId: run.workflowId, runId: run.runId, duplicate: run.duplicate },
        run.duplicate ? 200 : 202,
      );
    },
  );
  return app;
}
