// DingTalk Stream mode: a WebSocket Conduit opens to DingTalk's gateway, so robot messages arrive without a public
// address. Opens a connection (POST connections/open → endpoint and single-use ticket), answers the gateway's
// pings, hands each robot message to `onRobotMessage` and ACKs the frame only after that resolves, reconnects
// with jittered backoff, and at once when the gateway announces a disconnect. Knows nothing of Temporal.
import WebSocket from 'ws';
import { BadRequestError, UpstreamError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { isRetryableStatus, requestJson } from '../http-json.js';
import type { StreamStatusReporter } from '../stream-status.js';
import {
  type AckFrame,
  ackFrame,
  type DownstreamFrame,
  disconnectReason,
  parseDownstreamFrame,
  pongFrame,
  ROBOT_MESSAGE_TOPIC,
} from './stream-frames.js';

export const DINGTALK_GATEWAY_PATH = '/v1.0/gateway/connections/open';

export interface DingTalkStreamSettings {
  appKey: string;
  appSecret: string;
  /** The gateway's connection-open endpoint, e.g. https://api.dingtalk.com/v1.0/gateway/connections/open. */
  gatewayUrl: string;
  /** Reconnect backoff: the first delay and the cap (default 1 s and 60 s), each jittered down by up to half. */
  reconnectDelayMs?: { initial: number; max: number };
  /** Interval of WebSocket pings; a connection silent for a whole interval after one is dropped (default 30 s). */
  keepAliveMs?: number;
}

export interface DingTalkStreamDeps {
  fetch: typeof fetch;
  logger: Logger;
  now: () => Date;
  /**
   * Takes one robot message body (the JSON an HTTP callback carries). Resolving means the message is durably
   * accepted or deliberately ignored, and the frame is ACKed. A BadRequestError is answered with code 400, since
   * another delivery would fail the same way; any other error leaves the frame unanswered, so the gateway pushes
   * it again.
   */
  onRobotMessage(body: string, receivedAt: Date): Promise<void>;
  /** Told when the connection comes up or goes down and why (the console's health screen). */
  status?: Pick<StreamStatusReporter, 'connected' | 'disconnected' | 'failed'>;
}

export interface DingTalkStreamClient {
  /** Connects in the background: failures are logged and retried, never thrown. */
  start(): void;
  /** Stops reconnecting, lets messages in flight finish and ACK (a few seconds at most), then closes. */
  stop(): Promise<void>;
}

/** How long a connection must have stayed up for the next reconnect to start again from the first delay. */
const STABLE_CONNECTION_MS = 30_000;
/** After a `disconnect` frame the gateway closes the old connection itself within about ten seconds. */
const DISCONNECT_GRACE_MS = 10_000;
const STOP_GRACE_MS = 5_000;
const CLOSE_TIMEOUT_MS = 1_000;

interface ConnectionEnd {
  openForMs: number;
  /** The gateway announced a disconnect: connect again at once, no backoff. */
  rotated: boolean;
}

export function createDingTalkStreamClient(
  settings: DingTalkStreamSettings,
  deps: DingTalkStreamDeps,
): DingTalkStreamClient {
  const log = deps.logger.child({ channel: 'dingtalk', transport: 'stream' });
  const initialDelay = settings.reconnectDelayMs?.initial ?? 1_000;
  const maxDelay = settings.reconnectDelayMs?.max ?? 60_000;
  const keepAliveMs = settings.keepAliveMs ?? 30_000;
  const sockets = new Set<WebSocket>();
  const inFlight = new Set<Promise<void>>();
  let stopped = false;
  let running: Promise<void> | undefined;
  let interruptSleep: (() => void) | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      interruptSleep = done;
      function done() {
        clearTimeout(timer);
        interruptSleep = undefined;
        resolve();
      }
    });

  /** The WebSocket URL for one connection: the endpoint with its single-use ticket. Never logged. */
  async function openConnection(): Promise<string> {
    const response = await requestJson(deps.fetch, 'DingTalk stream gateway', settings.gatewayUrl, {
      method: 'POST',
      headers: { accept: 'application/json' },
      body: JSON.stringify({
        clientId: settings.appKey,
        clientSecret: settings.appSecret,
        subscriptions: [{ type: 'CALLBACK', topic: ROBOT_MESSAGE_TOPIC }],
        ua: 'conduit',
      }),
    });
    const body = (response.body ?? {}) as { endpoint?: unknown; ticket?: unknown; code?: unknown; message?: unknown };
    if (
      response.status === 200 &&
      typeof body.endpoint === 'string' &&
      URL.canParse(body.endpoint) &&
      typeof body.ticket === 'string' &&
      body.ticket !== ''
    ) {
      const url = new URL(body.endpoint);
      url.searchParams.set('ticket', body.ticket);
      return url.toString();
    }
    const code = typeof body.code === 'string' ? body.code : 'missing';
    const message = typeof body.message === 'string' ? body.message.slice(0, 200) : 'no endpoint or ticket';
    throw new UpstreamError(`DingTalk stream gateway refused: HTTP ${response.status}, code ${code} (${message})`, {
      retryable: isRetryableStatus(response.status),
    });
  }

  function send(socket: WebSocket, frame: AckFrame, what: string): void {
    if (socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return;
    }
    log.warn({ messageId: frame.headers['messageId'] }, `${what} not sent: the connection has closed`);
  }

  async function handleRobotMessage(socket: WebSocket, frame: DownstreamFrame): Promise<void> {
    try {
      await deps.onRobotMessage(frame.data, deps.now());
    } catch (error) {
      if (error instanceof BadRequestError) {
        send(socket, ackFrame(frame.messageId, { code: 400, message: error.message }), 'refusal');
        return;
      }
      // No ACK: the gateway pushes the frame again, and the run's id (from msgId) keeps that to one run.
      log.error(
        { messageId: frame.messageId, reason: error instanceof Error ? error.message : String(error) },
        'DingTalk stream message not accepted; the gateway will deliver it again',
      );
      return;
    }
    send(socket, ackFrame(frame.messageId), 'ACK');
  }

  function handleFrame(socket: WebSocket, text: string, rotate: () => void): void {
    const frame = parseDownstreamFrame(text);
    if (!frame) {
      log.warn('unreadable frame from the DingTalk stream gateway');
      return;
    }
    if (frame.type === 'SYSTEM') {
      if (frame.topic === 'ping') send(socket, pongFrame(frame), 'pong');
      else if (frame.topic === 'disconnect') {
        log.info({ reason: disconnectReason(frame) }, 'DingTalk stream gateway rotates the connection');
        rotate();
        // Messages in flight still ACK on this connection; the gateway pushes nothing new here and closes it.
        setTimeout(() => void closeSocket(socket), DISCONNECT_GRACE_MS).unref();
      } else log.debug({ topic: frame.topic }, 'DingTalk stream system frame');
      return;
    }
    if (frame.type === 'CALLBACK' && frame.topic === ROBOT_MESSAGE_TOPIC) {
      // Stopping: no run is started that could not be ACKed; unanswered, the frame goes to a live connection.
      if (stopped) return;
      const handling = handleRobotMessage(socket, frame);
      inFlight.add(handling);
      void handling.finally(() => inFlight.delete(handling));
      return;
    }
    // Only the robot topic is subscribed. Anything else is answered "not handled", as the official SDKs do.
    log.warn({ type: frame.type, topic: frame.topic.slice(0, 100) }, 'DingTalk stream frame for a topic not handled');
    send(socket, ackFrame(frame.messageId, { code: 404, message: 'no handler for this topic' }), 'answer');
  }

  /** Runs one connection; resolves when it closes, or early when the gateway announces a disconnect. */
  function connect(url: string): Promise<ConnectionEnd> {
    return new Promise((resolve) => {
      const socket = new WebSocket(url, { handshakeTimeout: 10_000 });
      sockets.add(socket);
      let openedAt: number | undefined;
      let settled = false;
      let heard = true;
      let keepAlive: NodeJS.Timeout | undefined;
      const end = (rotated: boolean) => {
        if (settled) return;
        settled = true;
        resolve({ openForMs: openedAt === undefined ? 0 : Date.now() - openedAt, rotated });
      };

      socket.on('open', () => {
        openedAt = Date.now();
        log.info('DingTalk stream connected');
        deps.status?.connected();
        keepAlive = setInterval(() => {
          if (!heard) {
            log.warn('DingTalk stream connection went silent; reconnecting');
            socket.terminate();
            return;
          }
          heard = false;
          socket.ping();
        }, keepAliveMs);
        keepAlive.unref();
      });
      socket.on('pong', () => {
        heard = true;
      });
      socket.on('message', (data, isBinary) => {
        heard = true;
        if (!isBinary) handleFrame(socket, data.toString(), () => end(true));
      });
      // ws errors name the failure (refused, 401, timeout), never the URL and its ticket.
      socket.on('error', (error) => {
        log.warn({ reason: error.message }, 'DingTalk stream connection error');
        deps.status?.failed(error.message);
      });
      socket.on('close', (code) => {
        clearInterval(keepAlive);
        sockets.delete(socket);
        if (openedAt !== undefined) log.info({ code }, 'DingTalk stream connection closed');
        deps.status?.disconnected();
        end(false);
      });
    });
  }

  function backoff(failures: number): number {
    const ceiling = Math.min(maxDelay, initialDelay * 2 ** Math.min(failures, 30));
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (!stopped) {
      let result: ConnectionEnd = { openForMs: 0, rotated: false };
      try {
        const url = await openConnection();
        if (stopped) break;
        result = await connect(url);
      } catch (error) {
        const retryable = !(error instanceof UpstreamError) || error.retryable;
        const reason = error instanceof Error ? error.message : String(error);
        deps.status?.disconnected(reason);
        // A refused app key or secret will not pass by itself, but may once the app is fixed: keep trying, loudly.
        if (retryable) log.warn({ reason }, 'DingTalk stream gateway unreachable');
        else log.error({ reason }, 'DingTalk stream gateway refused the connection; check the app key and secret');
      }
      if (stopped) break;
      if (result.rotated) {
        failures = 0;
        continue;
      }
      if (result.openForMs >= STABLE_CONNECTION_MS) failures = 0;
      const delayMs = backoff(failures);
      failures += 1;
      log.info({ delayMs }, 'DingTalk stream reconnecting');
      await sleep(delayMs);
    }
  }

  return {
    start() {
      if (running) return;
      stopped = false;
      running = run().catch((error) => log.error({ err: error }, 'DingTalk stream client stopped unexpectedly'));
    },
    async stop() {
      stopped = true;
      interruptSleep?.();
      await Promise.race([Promise.allSettled([...inFlight]), delay(STOP_GRACE_MS)]);
      await Promise.all([...sockets].map(closeSocket));
      await running;
      running = undefined;
    },
  };
}

/** Closes politely, and forcibly if the other side does not answer the close within a second. */
function closeSocket(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => socket.terminate(), CLOSE_TIMEOUT_MS);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    if (socket.readyState === WebSocket.OPEN) socket.close(1000);
    else socket.terminate();
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
