import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { API_CHANNEL } from '../../channels/api/adapter.js';
import { RefusedDelivery } from '../../channels/refusal.js';
import { ConduitError, NotFoundError, PayloadTooLargeError } from '../../core/errors.js';
import { startMessageRun } from '../../runs/start-message-run.js';
import { parseWaitSeconds, waitForRun } from '../../runs/wait-for-run.js';
import type { ApiDeps } from '../deps.js';

export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

export function webhookRoutes({ channels, temporal, config, metrics, logger, blobs, now = () => new Date() }: ApiDeps) {
  const app = new Hono();
  // The api channel is in the map so workers can "send" to it, but it takes no webhooks.
  const adapterFor = (name: string) => (name === API_CHANNEL ? undefined : channels.get(name));
  /** Counts and logs a refused delivery: the reason and the channel, never headers or the body. */
  const reject = (c: Context, error: ConduitError) => {
    const name = c.req.param('channel') ?? '';
    // An unknown name comes from the caller: it must not become a metrics label or fill the log.
    const channel = adapterFor(name) ? name : 'unknown';
    // A refusal that answers vaguely on purpose (no oracle) still says precisely why in metrics and the log.
    const reason = error instanceof RefusedDelivery ? error.reason : error.code;
    metrics.inboundMessages.inc({ channel, outcome: 'rejected', reason });
    logger.warn(
      {
        channel,
        requestedChannel: name.slice(0, 64),
        requestId: c.get('requestId'),
        code: error.code,
        reason: error.message,
        ...(error instanceof RefusedDelivery ? { refusal: error.reason } : {}),
      },
      'webhook delivery rejected',
    );
  };

  app.post(
    '/:channel',
    bodyLimit({
      maxSize: MAX_WEBHOOK_BODY_BYTES,
      onError: (c) => {
        const error = new PayloadTooLargeError(`webhook bodies are limited to ${MAX_WEBHOOK_BODY_BYTES} bytes`);
        reject(c, error);
        // The rest of the body is never read, so the connection cannot carry another request: say so, or the
        // client's next request on it fails with a reset.
        c.header('Connection', 'close');
        throw error;
      },
    }),
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
        metrics.inboundMessages.inc({ channel: name, outcome: 'ignored', reason: outcome.reason });
        logger.info(
          { channel: name, requestId, reason: outcome.reason, detail: outcome.detail },
          'webhook delivery ignored',
        );
        return c.json({ ok: true, ignored: outcome.reason });
      }
      const run = await startMessageRun(temporal, config.temporal.taskQueue, outcome.message, { blobs });
      metrics.inboundMessages.inc({ channel: name, outcome: run.duplicate ? 'duplicate' : 'accepted', reason: '' });
      logger.info(
        { channel: name, requestId, workflowId: run.workflowId, runId: run.runId, duplicate: run.duplicate },
        'message accepted',
      );
      // The platform dictates its answer and its deadline: never wait there.
      if (outcome.ack) return c.json(outcome.ack.body as object, outcome.ack.status as 200);

      const accepted = {
        workflowId: run.workflowId,
        runId: run.runId,
        duplicate: run.duplicate,
        statusUrl: `/v1/runs/${encodeURIComponent(run.workflowId)}`,
      };
      const wait = parseWaitSeconds(c.req.query('wait'));
      if (wait === undefined) return c.json(accepted, run.duplicate ? 200 : 202);
      const result = await waitForRun(temporal, run.workflowId, wait);
      return result ? c.json({ ...accepted, result }, 200) : c.json(accepted, run.duplicate ? 200 : 202);
    },
  );
  return app;
}
