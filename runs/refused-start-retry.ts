// The retry policy of Conduit's Temporal client connection: the SDK's default for every call, except for calls made
// inside `retryRefusalsFor(ms, …)` (the door's start), which are not sent again once `ms` have passed since they were
// first sent, and whose first UNAVAILABLE answer is reported. A Temporal server that is up but cannot write (its
// database is down) answers a start UNAVAILABLE within about half a second; the default policy resends it for about
// 24 s, which held every sender that long.
import { AsyncLocalStorage } from 'node:async_hooks';
import { status as grpcStatus, type Interceptor } from '@grpc/grpc-js';
import { defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';

interface RefusalScope {
  budgetMs: number;
  refused(): void;
}

const scopes = new AsyncLocalStorage<RefusalScope>();
const defaults = defaultGrpcRetryOptions();
const retryAsUsual = makeGrpcRetryInterceptor(defaults);

/** Replaces the connection's default retry interceptor (`Connection.connect({ interceptors: [this] })`). */
export const temporalRetryInterceptor: Interceptor = (options, nextCall) => {
  const scope = scopes.getStore();
  if (!scope) return retryAsUsual(options, nextCall);
  const sentAt = Date.now();
  return makeGrpcRetryInterceptor({
    delayFunction: defaults.delayFunction,
    retryableDecider: (attempt, status) => {
      if (status.code === grpcStatus.UNAVAILABLE) scope.refused();
      return Date.now() - sentAt < scope.budgetMs && defaults.retryableDecider(attempt, status);
    },
  })(options, nextCall);
};

/**
 * Runs `call` with its Temporal calls resent for about `ms` at most, so the server's refusal reaches the caller
 * instead of waiting out the client's retries. A slow answer is still waited for; only resending stops.
 * `firstRefusal` resolves when the server first answers UNAVAILABLE: the caller may stop waiting `ms` after it
 * (an attempt already sent can take as long as the server takes to refuse it again).
 */
export function retryRefusalsFor<T>(
  ms: number,
  call: () => Promise<T>,
): { result: Promise<T>; firstRefusal: Promise<void> } {
  let refused = () => {};
  const firstRefusal = new Promise<void>((resolve) => {
    refused = resolve;
  });
  return { result: scopes.run({ budgetMs: ms, refused: () => refused() }, call), firstRefusal };
}
