// gRPC clients as a channel (conduit.v1.Conduit/SendMessage). Nothing is pushed from here: the reply, like every
// other step of the run, reaches the client through WatchRun, which follows the run's event log.
import { BadRequestError } from '../../core/errors.js';
import type { ChannelAdapter } from '../adapter.js';

export const GRPC_CHANNEL = 'grpc';

export function createGrpcChannelAdapter(): ChannelAdapter {
  return {
    name: GRPC_CHANNEL,
    async receive() {
      throw new BadRequestError('the grpc channel takes messages over gRPC SendMessage, not as a webhook');
    },
    async send() {
      return { channel: GRPC_CHANNEL };
    },
    async sendProgress() {
      return { channel: GRPC_CHANNEL };
    },
  };
}
