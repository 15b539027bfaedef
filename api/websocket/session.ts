// One WebSocket client: each `message` frame starts a run whose events the connection then follows; a reconnect
// (`?last_event_id=`, or a `resume` frame) replays every event after that id for the client's runs and follows
// them on. A bad frame is answered with an error frame; the connection stays open. A client that stops reading
// is cut off once its send buffer is full (close code 1013), and resumes like any dropped client.
import WebSocket from 'ws';
import { WS_CHANNEL } from '../../channels/websocket/adapter.js';
import { type ClientFrame, type ErrorFrame, errorFrame, parseClientFrame } from '../../channels/websocket/frames.js';
import { BadRequestError, ForbiddenError, UnavailableError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { toInboundMessage } from '../../core/message-input.js';
import type { Metrics } from '../../core/metrics.js';
import type { Database } from '../../db/client.js';
import { type AcceptDeps, acceptMessage, noteRefused } from '../../runs/accept-message.js';
import { isRunOpen } from '../../runs/is-run-open.js';
import { followRunEvents, type RunEvent, runsFollowedAt } from '../../runs/run-event-feed.js';
import type { Principal } from '../admin-keys.js';
import { type BoundSender, bindSender } from '../sender-identity.js';
import { createSendGate } from '../stream-backpressure.js';
import { may, type StreamGuards } from '../stream-guards.js';

export interface SessionDeps extends AcceptDeps {
  db: Database;
  guards: StreamGuards;
  logger: Logger;
  metrics: Metrics;
  now?: () => Date;
  pollMs?: number;
  sendBufferBytes?: number;
  sendStallMs?: number;
}

/** "Try again later": the client fell behind; it reconnects with the last event id it received. */
export const SLOW_CLIENT_CLOSE_CODE = 1013;
export const SLOW_CLIENT_CLOSE_REASON = 'send buffer full: reconnect with last_event_id';

export function openSession(ws: WebSocket, principal: Principal, url: URL, deps: SessionDeps): void {
  const { db, temporal, metrics } = deps;
  const logger = deps.logger.child({ keyId: principal.keyId });
  const now = deps.now ?? (() => new Date());
  const send = (frame: RunEvent | ErrorFrame) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
  };
  // What the client has not read yet stays in this process: past the bound, delivery waits; past the stall time,
  // the client is taken to have stopped reading and the connection is closed so it can resume.
  const gate = createSendGate({
    buffered: () => ws.bufferedAmount,
    limitBytes: deps.sendBufferBytes,
    stallMs: deps.sendStallMs,
    onStall: () => {
      follower.close();
      metrics.streamSlowClientsCutOff.inc({ channel: WS_CHANNEL });
      logger.warn({ bufferedBytes: ws.bufferedAmount }, 'client is not reading; connection closed');
      // Queued behind what is buffered: a client that reads again gets every frame sent, then this code. One
      // that never does is cut off by ws's close timeout, so the buffer is freed then.
      ws.close(SLOW_CLIENT_CLOSE_CODE, SLOW_CLIENT_CLOSE_REASON);
    },
  });
  const follower = followRunEvents(db, {
    onEvent: send,
    isRunOpen: (workflowId) => isRunOpen(temporal, workflowId),
    onError: (error) => logger.warn({ err: error }, 'reading run events failed; retrying'),
    canDeliver: gate.canDeliver,
    pollMs: deps.pollMs,
  });
  /** Where this client's view starts: a redelivered message replays its run only after this id. */
  let resumedAfter = 0;

  const resume = async (afterId: number, workflowIds?: string[]) => {
    resumedAfter = Math.max(resumedAfter, afterId);
    const runs = workflowIds ?? (await runsFollowedAt(db, principal.keyId, WS_CHANNEL, afterId));
    for (const workflowId of runs) follower.follow(workflowId, afterId, { confirmOpen: true });
  };

  const handle = async (frame: ClientFrame) => {
    if (frame.type === 'resume') return resume(frame.last_event_id, frame.workflow_ids);
    if (!may(principal, 'messages:send')) {
      return send(
        errorFrame('forbidden', `role ${principal.role} lacks the messages:send permission`, frame.message_id),
      );
    }
    const budget = deps.guards.takeForCredential(principal);
    if (!budget.ok) {
      const text = `too many requests for this credential; retry in ${budget.retryAfterSeconds} s`;
      return send(errorFrame('rate_limited', text, frame.message_id));
    }
    let bound: BoundSender;
    try {
      bound = await bindSender(db, principal, WS_CHANNEL, frame.sender);
    } catch (error) {
      if (!(error instanceof ForbiddenError)) throw error;
      return send(errorFrame('forbidden', error.message, frame.message_id));
    }
    const message = toInboundMessage(WS_CHANNEL, frame, now(), bound);
    try {
      const run = await acceptMessage({ ...deps, logger }, message, { transport: 'websocket', owner: principal.keyId });
      follower.follow(run.workflowId, run.duplicate ? resumedAfter : 0);
    } catch (error) {
      // The door logged Temporal being unreachable; anything else (the event log failing) is logged here.
      if (!(error instanceof UnavailableError)) {
        logger.error({ err: error, messageId: message.messageId }, 'starting a run failed');
      }
      send(errorFrame('unavailable', 'the message could not be accepted now; send it again', message.messageId));
    }
  };

  ws.on('message', (data, isBinary) => {
    if (isBinary) return send(errorFrame('bad_request', 'frames are JSON text, not binary'));
    const parsed = parseClientFrame(data.toString());
    if (!parsed.ok) {
      noteRefused({ metrics, logger }, new BadRequestError(parsed.error.error.message), {
        channel: WS_CHANNEL,
        transport: 'websocket',
      });
      return send(parsed.error);
    }
    handle(parsed.frame).catch((error) => {
      logger.error({ err: error }, 'handling a frame failed');
      send(errorFrame('internal', 'internal error'));
    });
  });
  metrics.streamWatchers.inc({ channel: WS_CHANNEL });
  ws.on('close', () => {
    follower.close();
    metrics.streamWatchers.dec({ channel: WS_CHANNEL });
  });
  ws.on('error', (error) => logger.warn({ err: error }, 'websocket error'));

  const lastEventId = url.searchParams.get('last_event_id');
  if (lastEventId !== null) {
    const afterId = /^\d{1,15}$/.test(lastEventId) ? Number(lastEventId) : undefined;
    if (afterId === undefined) send(errorFrame('bad_request', 'last_event_id: expected a non-negative event id'));
    else {
      const ids = url.searchParams.get('workflow_ids');
      resume(afterId, ids ? ids.split(',').filter(Boolean) : undefined).catch((error) => {
        logger.error({ err: error }, 'resuming failed');
        send(errorFrame('unavailable', 'could not resume; send a resume frame to try again'));
      });
    }
  }
}
