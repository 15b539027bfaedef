// The adapter of channels whose clients read replies from the run's event log (the management API, WebSocket,
// gRPC): nothing is pushed from here, and messages arrive through the channel's own entry, never a webhook.
import { BadRequestError } from '../core/errors.js';
import type { ChannelAdapter } from './adapter.js';

export function createEventLogAdapter(name: string, entry: string): ChannelAdapter {
  return {
    name,
    async receive() {
      throw new BadRequestError(`the ${name} channel takes messages ${entry}, not as a webhook`);
    },
    async send() {
      return { channel: name };
    },
    async sendProgress() {
      return { channel: name };
    },
  };
}
