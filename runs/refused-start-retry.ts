// The retry policy of Conduit's Temporal client connection: the SDK's default for every call, except that a call
// made inside `retryRefusalsFor(ms, …)` (the door's start) is not sent again once `ms` have passed since it was
// first sent. A Temporal server that is up but cannot write (its database is down) answers a start UNAVAILABLE
// within about half a second; the default policy resends it for about 24 s, which held every sender that long.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Interceptor } from '@grpc/grpc-js';
import { defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';

const budgets = new AsyncLocalStorage<number>();
const defaults = defaultGrpcRetryOptions();
const retryAsUsual = makeGrpcRetryInterceptor(defaults);

/** Replaces the connection's default retry interceptor (`Connection.connect({ interceptors: [this] })`). */
export const temporalRetryInterceptor: Interceptor = (options, nextCall) => {
  const budgetMs = budgets.getStore();
  if (budgetMs === undefined) return retryAsUsual(options, nextCall);
  const sentAt = Date.now();
  return makeGrpcRetryInterceptor({
    delayFunction: defaults.delayFunction,
    retryableDecider: (attempt, status) => Date.now() - sentAt < budgetMs && defaults.retryableDecider(attempt, status),
  })(options, nextCall);
};

/**
 * Runs `call` with its Temporal calls retried for about `ms` at most: the server's refusal then reaches the caller
 * (who can answer 503 with Retry-After) instead of waiting out the client's retries. A slow answer is still waited
 * for; only resending stops.
 */
export function retryRefusalsFor<T>(ms: number, call: () => Promise<T>): Promise<T> {
  return budgets.run(ms, call);
}
