// Feishu/Lark long-connection mode through the official SDK (WSClient and EventDispatcher): events arrive over a
// WebSocket the SDK opens to Feishu and keeps up, so no public address is needed. Feishu counts an event as
// failed, and pushes it again, unless its handler finishes within 3 seconds without throwing.
import { BadRequestError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { IngressOutcome } from '../adapter.js';
import type { StreamStatusReporter } from '../stream-status.js';
import { parseFeishuMessageEvent } from './message-event.js';

export const FEISHU_MESSAGE_EVENT = 'im.message.receive_v1';

export interface FeishuLongConnectionSettings {
  appId: string;
  appSecret: string;
  /** The open platform's base URL (Feishu or Lark, or a gateway): the SDK asks `<base>/callback/ws/endpoint`. */
  baseUrl: string;
  /** After the SDK gives up (refused credentials, retries exhausted), start it again this much later (60 s). */
  restartDelayMs?: number;
}

export interface FeishuLongConnectionDeps {
  logger: Logger;
  now: () => Date;
  /**
   * Takes one `im.message.receive_v1` event as the SDK dispatches it (see parseDispatchedFeishuEvent). Resolving
   * means it is durably accepted or deliberately ignored. A BadRequestError drops the event (answered as handled:
   * another delivery would fail the same way); any other error makes Feishu push it again.
   */
  onMessageEvent(event: unknown, receivedAt: Date): Promise<void>;
  /** Told when the connection comes up or goes down and why (the console's health screen). */
  status?: Pick<StreamStatusReporter, 'connected' | 'disconnected'>;
}

export interface FeishuLongConnection {
  stop(): Promise<void>;
}

/** Connects in the background and resolves at once: failures are logged and retried, never thrown. */
export async function startFeishuLongConnection(
  settings: FeishuLongConnectionSettings,
  deps: FeishuLongConnectionDeps,
): Promise<FeishuLongConnection> {
  // The SDK takes about a second to load: only processes that use the long connection pay for it.
  const lark = await import('@larksuiteoapi/node-sdk');
  const log = deps.logger.child({ channel: 'feishu', transport: 'long-connection' });
  const logger = sdkLogger(log);
  // The SDK logs whole events at debug level: those lines only show at LOG_LEVEL=trace (see sdkLogger).
  const loggerLevel = log.isLevelEnabled('trace') ? lark.LoggerLevel.trace : lark.LoggerLevel.info;

  const dispatcher = new lark.EventDispatcher({ logger, loggerLevel }).register({
    [FEISHU_MESSAGE_EVENT]: async (event: unknown) => {
      try {
        await deps.onMessageEvent(event, deps.now());
      } catch (error) {
        if (error instanceof BadRequestError) return;
        // The SDK answers code 500 and Feishu pushes the event again; the run's id keeps that to one run.
        log.error(
          { reason: error instanceof Error ? error.message : String(error) },
          'Feishu event not accepted; Feishu will deliver it again',
        );
        throw error;
      }
    },
  });

  let stopped = false;
  let restartTimer: NodeJS.Timeout | undefined;
  const client = new lark.WSClient({
    appId: settings.appId,
    appSecret: settings.appSecret,
    domain: settings.baseUrl.replace(/\/+$/, ''),
    logger,
    loggerLevel,
    onReady: () => {
      log.info('Feishu long connection ready');
      deps.status?.connected();
    },
    onReconnecting: () => {
      log.warn('Feishu long connection lost; reconnecting');
      deps.status?.disconnected('connection lost; reconnecting');
    },
    onReconnected: () => {
      log.info('Feishu long connection re-established');
      deps.status?.connected();
    },
    onError: (error) => {
      const delayMs = settings.restartDelayMs ?? 60_000;
      deps.status?.disconnected(error.message);
      log.error({ reason: error.message, delayMs }, 'Feishu long connection gave up; starting it again later');
      if (stopped) return;
      clearTimeout(restartTimer);
      restartTimer = setTimeout(start, delayMs);
      restartTimer.unref();
    },
  });
  function start() {
    if (stopped) return;
    client.start({ eventDispatcher: dispatcher }).catch((error: unknown) => {
      const reason = error instanceof Error ? error.message : String(error);
      log.error({ reason }, 'Feishu long connection failed');
      deps.status?.disconnected(reason);
    });
  }
  start();

  return {
    async stop() {
      stopped = true;
      clearTimeout(restartTimer);
      client.close();
    },
  };
}

/**
 * The SDK's dispatcher flattens a schema 2.0 event: `header` and `event` fields side by side at the top level.
 * This puts them back where parseFeishuMessageEvent (the HTTP path's parser) expects them.
 */
export function parseDispatchedFeishuEvent(dispatched: unknown, appId: string, receivedAt: Date): IngressOutcome {
  if (typeof dispatched !== 'object' || dispatched === null) {
    throw new BadRequestError('invalid Feishu message event: not an object');
  }
  const fields = dispatched as Record<string, unknown>;
  const payload = {
    schema: fields['schema'],
    header: { app_id: fields['app_id'], event_id: fields['event_id'], event_type: fields['event_type'] },
    event: { sender: fields['sender'], message: fields['message'] },
  };
  return parseFeishuMessageEvent(payload, appId, receivedAt);
}

type SdkLog = (...parts: unknown[]) => void;

/** The SDK's logger interface on top of pino: its debug and trace lines (which carry event bodies) go to trace. */
function sdkLogger(log: Logger): Record<'error' | 'warn' | 'info' | 'debug' | 'trace', SdkLog> {
  // The SDK's logger proxy hands its arguments over as one array.
  const line = (parts: unknown[]) => parts.flat().map(describe).join(' ');
  return {
    error: (...parts) => log.error({ sdk: 'lark' }, line(parts)),
    warn: (...parts) => log.warn({ sdk: 'lark' }, line(parts)),
    info: (...parts) => log.info({ sdk: 'lark' }, line(parts)),
    debug: (...parts) => log.trace({ sdk: 'lark' }, line(parts)),
    trace: (...parts) => log.trace({ sdk: 'lark' }, line(parts)),
  };
}

function describe(part: unknown): string {
  if (typeof part === 'string') return part;
  if (part instanceof Error) return part.message;
  try {
    return JSON.stringify(part) ?? String(part);
  } catch {
    return String(part);
  }
}
