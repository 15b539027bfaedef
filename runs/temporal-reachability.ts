// Whether the API's connection to Temporal is up, read from the gRPC channel's own connectivity state, so the door
// can give up on a start about a second after the connection went down instead of sitting through the client's
// retries (about 18 s). One watcher per channel, shared by every call in flight.
import { connectivityState, type Client as GrpcClient } from '@grpc/grpc-js';
import type { Client } from '@temporalio/client';

export interface Reachability {
  /** Whether the channel is connected now. */
  readonly up: boolean;
  /** Calls `listener` on every change between up and down until the returned function is called. */
  subscribe(listener: (up: boolean) => void): () => void;
}

type Channel = ReturnType<GrpcClient['getChannel']>;

const monitors = new WeakMap<Channel, Reachability>();

/** The reachability of the client's Temporal connection; undefined for connections without a gRPC channel. */
export function temporalReachability(temporal: Client): Reachability | undefined {
  // The SDK's Connection keeps its grpc-js client protected; a NativeConnection (the bench's eager client) has none.
  const grpcClient = (temporal.connection as unknown as { client?: Partial<GrpcClient> }).client;
  const channel = grpcClient?.getChannel?.();
  if (!channel) return undefined;
  let monitor = monitors.get(channel);
  if (!monitor) {
    monitor = watchChannel(channel);
    monitors.set(channel, monitor);
  }
  return monitor;
}

function watchChannel(channel: Channel): Reachability {
  const listeners = new Set<(up: boolean) => void>();
  let up = false;
  const watch = (state: connectivityState) => {
    const wasUp = up;
    up = state === connectivityState.READY;
    if (up !== wasUp) for (const listener of listeners) listener(up);
    try {
      // No deadline: no timer either; the watcher fires on the next change of state.
      channel.watchConnectivityState(state, Number.POSITIVE_INFINITY, () => watch(channel.getConnectivityState(false)));
    } catch {
      // The channel was shut down (the client closed): nothing more to watch.
      up = false;
    }
  };
  watch(channel.getConnectivityState(false));
  return {
    get up() {
      return up;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
