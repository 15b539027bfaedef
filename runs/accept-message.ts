// The one door into the pipeline: every ingress path (webhooks, POST /v1/messages, WebSocket, gRPC, the DingTalk
// Stream and Feishu long-connection clients) hands its canonical message to acceptMessage, which offloads a large
// text, records the run's 'accepted' event when the caller follows the run, starts the run, counts, logs and
// builds the answer. Callers keep only their transport: parsing their wire format and writing the answer.
// While Temporal is unreachable, or answers that it cannot take the start, the door says so within about a second
// (UnavailableError), instead of hanging on the client's retries: no caller is ever told "accepted" for a message
// that was not recorded.
import { status as grpcStatus } from '@grpc/grpc-js';
import { type Client, isGrpcServiceError } from '@temporalio/client';
import { RefusedDelivery } from '../channels/refusal.js';
import { createRefusalLog, type RefusalLog } from '../channels/refusal-log.js';
import { BadRequestError, type ConduitError, UnavailableError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { InboundMessage } from '../core/message.js';
import { checkInboundMessage } from '../core/message-input.js';
import type { Metrics } from '../core/metrics.js';
import type { Database } from '../db/client.js';
import type { BlobStore } from '../storage/blob-store.js';
import { messageWorkflowId, type RunStatus } from './contract.js';
import { retryRefusalsFor } from './refused-start-retry.js';
import { appendRunEvent, removeRunEvent } from './run-events.js';
import { type StartedRun, startMessageRun } from './start-message-run.js';
import { type Reachability, temporalReachability } from './temporal-reachability.js';
import { waitForRun } from './wait-for-run.js';

/** How long a start may wait while Temporal's connection is down: the doors answer within about this. */
export const UNREACHABLE_START_DEADLINE_MS = 1000;
/** How long a start may take on a live connection (a busy server queues starts; a hung one must not hang us). */
export const CONNECTED_START_DEADLINE_MS = 30_000;
/** What a refused caller is told to wait before sending again (Retry-After). */
export const RETRY_AFTER_SECONDS = 5;
/** Retry-After while the data directory's disk is nearly full: freeing space takes a person, not seconds. */
export const DISK_FULL_RETRY_AFTER_SECONDS = 60;

export interface AcceptDeps {
  temporal: Client;
  taskQueue: string;
  /** Where texts too large for workflow payloads go (see offload-large-text.ts). */
  blobs?: BlobStore;
  /** The run-event log; needed when the caller follows the run (`owner`). */
  db?: Database;
  metrics: Pick<Metrics, 'inboundMessages'>;
  logger: Logger;
  /** Overrides the start deadlines (tests). */
  startDeadlineMs?: { unreachable?: number; connected?: number };
  /** Samples refusal lines (WEBHOOK_REFUSAL_LOG_*); one with the defaults per logger otherwise. */
  refusalLog?: RefusalLog;
  /**
   * Why no message can be taken now although Temporal is up (the data directory's disk is nearly full:
   * platform/data-disk-guard.ts), or undefined. Asked before anything is written.
   */
  capacity?: () => Promise<string | undefined>;
}

/** How the message came in, for logs: the channel is in the message. */
export type Transport = 'webhook' | 'stream' | 'api' | 'websocket' | 'grpc';

export interface AcceptOptions {
  transport: Transport;
  requestId?: string;
  /**
   * The principal (API key id) following the run over a stream: its 'accepted' event is recorded before the run
   * starts, so it is the run's first and a reconnect finds the run (run-event-log.ts runsFollowedAt).
   */
  owner?: string;
  /** `?wait=<seconds>`: include the run's status in the answer when it finishes in time. */
  waitSeconds?: number;
  /** Ask the server to hand the run's first task to this process's worker (benchmarks). */
  eager?: boolean;
}

/** The answer of the HTTP doors (and the fields the streaming doors send). */
export interface AcceptAnswer {
  workflowId: string;
  runId: string;
  duplicate: boolean;
  statusUrl: string;
  /** The run status, when a wait was asked and the run finished in time. */
  result?: RunStatus;
}

export interface AcceptedMessage extends StartedRun {
  answer: AcceptAnswer;
  /** 202 for a new run still going, 200 for a duplicate or a run that finished within the wait. */
  httpStatus: 200 | 202;
}

export async function acceptMessage(
  deps: AcceptDeps,
  received: InboundMessage,
  options: AcceptOptions,
): Promise<AcceptedMessage> {
  const { channel } = received;
  const context = { channel, transport: options.transport, requestId: options.requestId };
  // Every channel's ids are checked here, once, and text PostgreSQL cannot store is normalised (core/message-input.ts).
  let message: InboundMessage;
  try {
    message = checkInboundMessage(received);
  } catch (error) {
    if (error instanceof BadRequestError) noteRefused(deps, error, context);
    throw error;
  }
  const full = await deps.capacity?.();
  if (full) {
    deps.metrics.inboundMessages.inc({ channel, outcome: 'rejected', reason: 'disk_full' });
    // Sampled like the other refusals: a full disk under load would otherwise write a line per message.
    (deps.refusalLog ?? refusalLogFor(deps.logger)).warn(
      `${options.transport}:${channel}:disk_full`,
      { ...context, reason: full },
      'message refused: the data directory is nearly full',
    );
    throw new UnavailableError(full, { retryAfterSeconds: DISK_FULL_RETRY_AFTER_SECONDS });
  }
  let run: StartedRun;
  try {
    run = await record(deps, message, options);
  } catch (cause) {
    if (!isUnreachable(cause)) throw cause;
    deps.metrics.inboundMessages.inc({ channel, outcome: 'rejected', reason: 'unavailable' });
    deps.logger.warn(
      { ...context, messageId: message.messageId.slice(0, 128), err: cause },
      'message refused: Temporal is unreachable',
    );
    throw new UnavailableError('the message could not be accepted now; send it again later', {
      cause,
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    });
  }
  deps.metrics.inboundMessages.inc({ channel, outcome: run.duplicate ? 'duplicate' : 'accepted', reason: '' });
  deps.logger.info(
    { ...context, workflowId: run.workflowId, runId: run.runId, duplicate: run.duplicate },
    'message accepted',
  );

  const answer: AcceptAnswer = {
    workflowId: run.workflowId,
    runId: run.runId,
    duplicate: run.duplicate,
    statusUrl: `/v1/runs/${encodeURIComponent(run.workflowId)}`,
  };
  const result =
    options.waitSeconds === undefined
      ? undefined
      : await waitForRun(deps.temporal, run.workflowId, options.waitSeconds);
  if (result) answer.result = result;
  return { ...run, answer, httpStatus: result || run.duplicate ? 200 : 202 };
}

/** Counts and logs a delivery refused before it reached the door (bad signature, bad payload, unknown channel). */
export function noteRefused(
  deps: Pick<AcceptDeps, 'metrics' | 'logger' | 'refusalLog'>,
  error: ConduitError,
  context: { channel: string; transport: Transport; requestId?: string; [field: string]: unknown },
): void {
  // A refusal that answers vaguely on purpose (no oracle) still says precisely why in metrics and the log.
  const refusal = error instanceof RefusedDelivery ? error.reason : undefined;
  deps.metrics.inboundMessages.inc({ channel: context.channel, outcome: 'rejected', reason: refusal ?? error.code });
  // Metrics count every refusal; the log takes the first few per channel and reason, then a summary line, so
  // 2,000 forged requests do not write 2,000 warnings.
  (deps.refusalLog ?? refusalLogFor(deps.logger)).warn(
    `${context.transport}:${context.channel}:${refusal ?? error.code}`,
    { ...context, code: error.code, reason: error.message, ...(refusal ? { refusal } : {}) },
    `${context.transport} delivery rejected`,
  );
}

const defaultRefusalLogs = new WeakMap<Logger, RefusalLog>();
function refusalLogFor(logger: Logger): RefusalLog {
  let log = defaultRefusalLogs.get(logger);
  if (!log) {
    log = createRefusalLog(logger);
    defaultRefusalLogs.set(logger, log);
  }
  return log;
}

/** Counts and logs a delivery that carries nothing to run (a bot's own message, an event type not handled). */
export function noteIgnored(
  deps: Pick<AcceptDeps, 'metrics' | 'logger'>,
  context: { channel: string; transport: Transport; reason: string; detail?: string; requestId?: string },
): void {
  deps.metrics.inboundMessages.inc({ channel: context.channel, outcome: 'ignored', reason: context.reason });
  deps.logger.info(context, `${context.transport} delivery ignored`);
}

/** Records 'accepted' when asked, then starts the run within the deadline; undoes the event if no run started. */
async function record(deps: AcceptDeps, message: InboundMessage, options: AcceptOptions): Promise<StartedRun> {
  let accepted: number | undefined;
  if (options.owner !== undefined) {
    if (!deps.db) throw new Error('acceptMessage: recording the accepted event needs the database');
    accepted = await appendRunEvent(
      deps.db,
      messageWorkflowId(message.channel, message.messageId),
      'accepted',
      {
        channel: message.channel,
        messageId: message.messageId,
        conversationId: message.conversationId,
        senderId: message.sender.id,
        owner: options.owner,
      },
      // A redelivery looks first: a conflicting insert would spend an id, and a gap holds streams back.
      { lookFirst: true },
    );
  }
  const reach = temporalReachability(deps.temporal);
  const unreachableMs = deps.startDeadlineMs?.unreachable ?? UNREACHABLE_START_DEADLINE_MS;
  // A connection already down gets the short deadline, so the call itself gives up instead of sitting through the
  // client's retries; a live one gets the long deadline, and the race below covers it going down meanwhile.
  const deadline =
    Date.now() +
    (reach && !reach.up ? unreachableMs : (deps.startDeadlineMs?.connected ?? CONNECTED_START_DEADLINE_MS));
  // A server that answers but refuses (UNAVAILABLE: its database is down) is asked again for about the same
  // second, not through the client's ~24 s of retries, and the door answers a second after its first refusal
  // (refused-start-retry.ts).
  const { result: start, firstRefusal } = retryRefusalsFor(unreachableMs, () =>
    deps.temporal.withDeadline(deadline, () =>
      startMessageRun(deps.temporal, deps.taskQueue, message, { blobs: deps.blobs, eager: options.eager }),
    ),
  );
  // The 'accepted' event stays only if a run started: an event left behind would announce a run that does not
  // exist. Decided when the start settles, even when the door has answered before that.
  const undo = start.then(
    () => undefined,
    async () => {
      if (accepted !== undefined && deps.db) await removeRunEvent(deps.db, accepted).catch(() => undefined);
    },
  );
  try {
    const unlessRefused = refusedAfter(firstRefusal, unreachableMs, start);
    return reach ? await unlessUnreachable(reach, unreachableMs, unlessRefused) : await unlessRefused;
  } catch (error) {
    if (!(error instanceof TemporalUnreachable)) await undo;
    throw error;
  }
}

/**
 * Settles as `call` does, or fails with TemporalUnreachable once the connection has been down for `ms`, whether
 * it was down from the start or went down meanwhile (the client's retries would otherwise hold the caller ~18 s).
 */
function unlessUnreachable<T>(reach: Reachability, ms: number, call: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onChange = (up: boolean) => {
      if (up) {
        clearTimeout(timer);
        timer = undefined;
      } else {
        timer ??= setTimeout(() => reject(new TemporalUnreachable()), ms);
      }
    };
    const unsubscribe = reach.subscribe(onChange);
    if (!reach.up) onChange(false);
    call.then(resolve, reject).finally(() => {
      unsubscribe();
      clearTimeout(timer);
    });
  });
}

/**
 * Settles as `call` does, or fails with TemporalUnreachable `ms` after the server first refused it (UNAVAILABLE):
 * an attempt already sent when the resending stops may take as long again to be refused.
 */
function refusedAfter<T>(firstRefusal: Promise<void>, ms: number, call: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    void firstRefusal.then(() => {
      if (!settled) timer = setTimeout(() => reject(new TemporalUnreachable()), ms);
    });
    call.then(resolve, reject).finally(() => {
      settled = true;
      clearTimeout(timer);
    });
  });
}

/** The start was given up because the connection to Temporal stayed down, or the server kept refusing it. */
class TemporalUnreachable extends Error {
  constructor(cause?: unknown) {
    super('the connection to Temporal is down', { cause });
  }
}

/** Temporal did not answer (down, restarting, out of time): the message may be sent again later. */
function isUnreachable(error: unknown): boolean {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof TemporalUnreachable) return true;
    // CANCELLED: the connection broke with the start in flight (the server was killed mid-call). Whether it was
    // recorded is unknown, so the sender is told to send again: the run's id comes from the message id, so a
    // second start finds the first run if there is one.
    if (
      isGrpcServiceError(cause) &&
      (cause.code === grpcStatus.UNAVAILABLE ||
        cause.code === grpcStatus.DEADLINE_EXCEEDED ||
        cause.code === grpcStatus.CANCELLED)
    ) {
      return true;
    }
  }
  return false;
}
