// Ingress without a public address: the connections Conduit itself opens to the chat platforms (DingTalk Stream
// mode, Feishu long connection), run by the API process. Each message they carry is parsed by its channel's own
// parser and enters the pipeline through acceptMessage, exactly like a webhook delivery; the platform is only
// told "handled" once the run has started.
import type { Client } from '@temporalio/client';
import type { ChannelDeps, IngressOutcome } from '../channels/adapter.js';
import { readDingTalkMessage } from '../channels/dingtalk/inbound.js';
import { createDingTalkStreamClient, DINGTALK_GATEWAY_PATH } from '../channels/dingtalk/stream-client.js';
import { parseDispatchedFeishuEvent, startFeishuLongConnection } from '../channels/feishu/long-connection.js';
import type { StreamStatusBoard, StreamStatusReporter } from '../channels/stream-status.js';
import { ConduitError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Config } from '../platform/config.js';
import { acceptMessage, noteIgnored, noteRefused } from '../runs/accept-message.js';
import type { BlobStore } from '../storage/blob-store.js';

export interface ChannelStreamDeps {
  config: Config;
  temporal: Client;
  blobs: BlobStore;
  logger: Logger;
  metrics: Metrics;
  channelDeps: ChannelDeps;
  /** Why no message can be taken now (a nearly full data disk), or undefined: the door asks it. */
  capacity?: () => Promise<string | undefined>;
  /** Where each connection's state, last delivery and last error are kept for the console's health screen. */
  status?: StreamStatusBoard;
}

export interface ChannelStreams {
  stop(): Promise<void>;
}

/** Starts the connections enabled by DINGTALK_STREAM and FEISHU_LONG_CONNECTION; none when neither is set. */
export async function startChannelStreams(deps: ChannelStreamDeps): Promise<ChannelStreams> {
  const env = deps.config.channels;
  const accept = createStreamAcceptor(deps);
  const running: Array<{ channel: string; stop: () => Promise<void> }> = [];

  if (env.DINGTALK_STREAM && env.DINGTALK_APP_KEY && env.DINGTALK_APP_SECRET) {
    const apiBaseUrl = env.DINGTALK_API_BASE_URL.replace(/\/+$/, '');
    const status = deps.status?.reporter('dingtalk', 'stream');
    const client = createDingTalkStreamClient(
      {
        appKey: env.DINGTALK_APP_KEY,
        appSecret: env.DINGTALK_APP_SECRET,
        gatewayUrl: env.DINGTALK_STREAM_GATEWAY_URL ?? `${apiBaseUrl}${DINGTALK_GATEWAY_PATH}`,
      },
      {
        fetch: deps.channelDeps.fetch,
        now: deps.channelDeps.now,
        logger: deps.logger,
        status,
        onRobotMessage: (body, receivedAt) =>
          noted(
            status,
            receivedAt,
            accept('dingtalk', () => readDingTalkMessage(body, receivedAt, apiBaseUrl)),
          ),
      },
    );
    client.start();
    running.push({ channel: 'dingtalk', stop: () => client.stop() });
  }

  if (env.FEISHU_LONG_CONNECTION && env.FEISHU_APP_ID && env.FEISHU_APP_SECRET) {
    const appId = env.FEISHU_APP_ID;
    const status = deps.status?.reporter('feishu', 'long-connection');
    try {
      const connection = await startFeishuLongConnection(
        { appId, appSecret: env.FEISHU_APP_SECRET, baseUrl: env.FEISHU_BASE_URL },
        {
          logger: deps.logger,
          now: deps.channelDeps.now,
          status,
          onMessageEvent: (event, receivedAt) =>
            noted(
              status,
              receivedAt,
              accept('feishu', () => parseDispatchedFeishuEvent(event, appId, receivedAt)),
            ),
        },
      );
      running.push({ channel: 'feishu', stop: () => connection.stop() });
    } catch (error) {
      await Promise.all(running.map((entry) => entry.stop()));
      throw error;
    }
  }

  if (running.length > 0) {
    deps.logger.info({ channels: running.map((entry) => entry.channel) }, 'stream ingress started');
  }
  return {
    async stop() {
      await Promise.all(running.map((entry) => entry.stop()));
    },
  };
}

/** Tells the channel's status of a delivery the door took (or deliberately ignored), or of why it did not. */
async function noted(status: StreamStatusReporter | undefined, receivedAt: Date, accepted: Promise<void>) {
  try {
    await accepted;
    status?.delivered(receivedAt);
  } catch (error) {
    status?.failed(`message not accepted: ${error instanceof Error ? error.message : String(error)}`);
    throw error;
  }
}

/**
 * Turns one streamed delivery into a started run through the door, like a webhook delivery. Throws what the
 * parser throws (BadRequestError: refused for good) and what the door throws (UnavailableError: the platform
 * redelivers later).
 */
function createStreamAcceptor({ config, temporal, blobs, logger, metrics, capacity }: ChannelStreamDeps) {
  const door = { temporal, taskQueue: config.temporal.taskQueue, blobs, metrics, logger, capacity };
  return async (channel: string, read: () => IngressOutcome): Promise<void> => {
    let outcome: IngressOutcome;
    try {
      outcome = read();
    } catch (error) {
      if (error instanceof ConduitError) noteRefused(door, error, { channel, transport: 'stream' });
      throw error;
    }
    if (outcome.kind !== 'message') {
      noteIgnored(door, {
        channel,
        transport: 'stream',
        reason: outcome.kind === 'ignore' ? outcome.reason : 'unexpected_exchange',
        detail: outcome.kind === 'ignore' ? outcome.detail : undefined,
      });
      return;
    }
    await acceptMessage(door, outcome.message, { transport: 'stream' });
  };
}
