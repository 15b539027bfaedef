// WebSocket clients as a channel (GET /v1/ws). Nothing is pushed from here: the reply, like every other step of
// the run, reaches the client through the run's event log, which its connection follows.
import { BadRequestError } from '../../core/errors.js';
import type { ChannelAdapter } from '../adapter.js';

export const WS_CHANNEL = 'ws';

export function createWebSocketChannelAdapter(): ChannelAdapter {
  return {
    name: WS_CHANNEL,
    async receive() {
      throw new BadRequestError('the ws channel takes messages over GET /v1/ws, not as a webhook');
    },
    async send() {
      return { channel: WS_CHANNEL };
    },
    async sendProgress() {
      return { channel: WS_CHANNEL };
    },
  };
}
