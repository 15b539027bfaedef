// What the console's health screen shows of the connections Conduit opens to the chat platforms (DingTalk Stream
// mode, the Feishu long connection): whether each is up, since when, its last delivery and its last error. The
// stream clients report into it; it only keeps the latest of each, in this process's memory. Errors are masked
// as the logs mask them (personal data replaced, no way back) and cut short: the screen is no log viewer.
import { maskLogText } from '../pii/logger.js';

export type StreamTransport = 'stream' | 'long-connection';

export interface StreamStatus {
  channel: string;
  transport: StreamTransport;
  connected: boolean;
  /** When the connection last came up or went down; undefined before the first attempt settled. */
  since?: Date;
  lastDeliveryAt?: Date;
  lastError?: { at: Date; message: string };
}

/** Told by a stream client as its connection and deliveries go. */
export interface StreamStatusReporter {
  connected(): void;
  disconnected(reason?: string): void;
  delivered(at: Date): void;
  failed(reason: string): void;
}

export interface StreamStatusBoard {
  /** The reporter of one channel's connection (created on first use). */
  reporter(channel: string, transport: StreamTransport): StreamStatusReporter;
  list(): StreamStatus[];
}

const MAX_ERROR_CHARS = 300;

export function createStreamStatusBoard(now: () => Date = () => new Date()): StreamStatusBoard {
  const statuses = new Map<string, StreamStatus>();
  const fail = (status: StreamStatus, reason: string) => {
    status.lastError = { at: now(), message: maskLogText(reason).slice(0, MAX_ERROR_CHARS) };
  };
  return {
    reporter(channel, transport) {
      let status = statuses.get(channel);
      if (!status) {
        status = { channel, transport, connected: false };
        statuses.set(channel, status);
      }
      const entry = status;
      return {
        connected() {
          if (!entry.connected || !entry.since) entry.since = now();
          entry.connected = true;
        },
        disconnected(reason) {
          if (entry.connected || !entry.since) entry.since = now();
          entry.connected = false;
          if (reason) fail(entry, reason);
        },
        delivered(at) {
          entry.lastDeliveryAt = at;
        },
        failed(reason) {
          fail(entry, reason);
        },
      };
    },
    list() {
      return [...statuses.values()].map((status) => ({ ...status })).sort((a, b) => a.channel.localeCompare(b.channel));
    },
  };
}
