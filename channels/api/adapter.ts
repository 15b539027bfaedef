// The management API as a channel: messages posted to POST /v1/messages. Replies are not pushed anywhere;
// they are kept in the run's status and the conversation history, where the caller reads them.
import { BadRequestError } from '../../core/errors.js';
import type { ChannelAdapter } from '../adapter.js';

export const API_CHANNEL = 'api';

export function createApiChannelAdapter(): ChannelAdapter {
  return {
    name: API_CHANNEL,
    async receive() {
      throw new BadRequestError('the api channel takes messages at POST /v1/messages, not as a webhook');
    },
    async send() {
      return { channel: API_CHANNEL };
    },
    async sendProgress() {
      return { channel: API_CHANNEL };
    },
  };
}
