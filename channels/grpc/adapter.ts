// gRPC clients as a channel (conduit.v1.Conduit/SendMessage). Nothing is pushed from here: the reply, like every
// other step of the run, reaches the client through WatchRun, which follows the run's event log.
import { createEventLogAdapter } from '../event-log-adapter.js';

export const GRPC_CHANNEL = 'grpc';

export const createGrpcChannelAdapter = () => createEventLogAdapter(GRPC_CHANNEL, 'over gRPC SendMessage');
